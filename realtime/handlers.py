"""Socket.IO events: authentication, project rooms, chat, typing, read receipts, direct messages.

Every client event may ask for an acknowledgement; the ack is `{"ok": true, ...}` or
`{"ok": false, "error": {"code", "reason", "errors"?}}`. A failed event also gets an `error` event
`{"event", "code", "reason"}`, so clients that do not use acks still learn why. A bad frame never
affects the connection or other clients.

Rules live in api/chat/service.py, and so do the broadcasts of what changed (through
realtime.publish, after the data is committed); this module only translates events. Who may hold a
connection is api.auth.sessions' rule, the same as for HTTP.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.auth.sessions import SessionRefused, TokenHolder, ended_sessions, read_token
from api.chat import service
from api.chat.schemas import (DmResumeIn, EditMessageIn, JoinProjectIn, MarkReadEvent, MessageRef, OtherUserRef,
                              ProjectRef, SendDirectEvent, SendMessageIn, TokenIn, UserRef)
from api.kernel.problems import Problem
from api.kernel.redis import get_redis
from api.kernel.settings import get_settings
from db.session import get_sessionmaker, raw_connection, unit_of_work
from db.unavailable import is_database_unavailable
from realtime import presence
from realtime.overload import Level, monitor, retry_after_s
from realtime.publish import NAMESPACE, project_room, user_room
from realtime.server import sio

log = logging.getLogger("filmo.realtime")


@dataclass
class Conn:
    """What this process knows about one of its sockets."""

    token: TokenHolder  # whose, until when, and the sign-in session it belongs to (logout ends it)
    name: str
    projects: set[str] = field(default_factory=set)

    @property
    def user_id(self) -> uuid.UUID:
        return self.token.user_id


_conns: dict[str, Conn] = {}
_background_started = False


class EventError(Exception):
    def __init__(self, code: str, reason: str, errors: list[dict] | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.code, self.reason, self.errors, self.retry_after = code, reason, errors, retry_after


# Every code an ack can carry is listed in realtime/README.md (a test checks it). A Problem carries its own
# code (api.kernel.problems.CODES), the same word a REST client gets for it.
_UNAVAILABLE_REASON = "A service this needs is unavailable right now; try again in a few seconds"


def _unavailable(exc: BaseException) -> bool:
    """Redis or PostgreSQL cannot be reached right now: the client should retry, nothing is broken."""
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError)) or is_database_unavailable(exc)


def _error(code: str, reason: str, errors: list[dict] | None = None, retry_after: float | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "reason": reason}
    if errors:
        body["errors"] = errors
    if retry_after is not None:
        body["retry_after"] = retry_after
    return {"ok": False, "error": body}


def _validation_errors(exc: ValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        reason = err.get("msg", "invalid")
        reason = reason.removeprefix("Value error, ")
        out.append({"field": ".".join(str(p) for p in err.get("loc", ())) or "data", "reason": reason})
    return out


async def _emit_error(sid: str, error: dict) -> None:
    """The `error` event to one socket of this process, written here directly: through the Redis channel every
    process would receive it only to drop it, and refusing sends while overloaded then cost each refusal a
    publish (py-spy of bench/realtime at 2x capacity)."""
    await sio.emit("error", error, to=sid, ignore_queue=True)


def _in_room(sid: str, room: str) -> bool:
    members = sio.manager.rooms.get(NAMESPACE, {}).get(room)
    return members is not None and sid in members


# Presence announcements held back while this process was busy: (project_id, user_id) -> (event, name).
# Keyed by person and project, so it holds at most one entry per presence entry, and a later event
# for the same person replaces an earlier one.
_deferred_presence: dict[tuple[str, str], tuple[str, str | None]] = {}


async def _announce(event_name: str, project_id: uuid.UUID | str, user_id: uuid.UUID | str,
                    user_name: str | None = None, online: list[dict] | None = None) -> None:
    """user_joined / user_left to the room; held back while this process is busy and sent by the next
    heartbeat that finds it calm (`_flush_deferred_presence`). Dropping them instead left a person
    shown offline for good: a user swept while their process stalled and revived by its first
    heartbeat after the stall (when the loop lag is still high) has no later announcement to correct it."""
    key = (str(project_id), str(user_id))
    if monitor.level() >= Level.BUSY:
        monitor.dropped += 1
        _deferred_presence[key] = (event_name, user_name)
        return
    _deferred_presence.pop(key, None)
    await service.announce_presence(event_name, project_id, user_id, user_name, online)


async def _flush_deferred_presence() -> None:
    """Send what `_announce` held back, each with the online list as it is now."""
    while _deferred_presence and monitor.level() < Level.BUSY:
        (project_id, user_id), (event_name, user_name) = _deferred_presence.popitem()
        await service.announce_presence(event_name, project_id, user_id, user_name)


# ----------------------------------------------------------------- authentication


class _Authenticator:
    """Checks the tokens of sockets that connect together in one database session: api.auth.sessions'
    rule (`ended_sessions`, two queries for any number of tokens) and everybody's display name (one).

    Thousands of clients reconnecting at once (a deploy, a network blip) is when connects come in
    bursts. Checked one by one, each connect took a pooled session of its own (a pre-ping, three
    queries, and a new connection whenever the pool overflowed): that was most of the ~25 ms of wall
    time per client it took to connect 2,000 clients (bench/results/realtime.md).
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[TokenHolder, asyncio.Future[Conn]]] = []

    async def check(self, holder: TokenHolder) -> Conn:
        answer: asyncio.Future[Conn] = asyncio.get_running_loop().create_future()
        self._waiting.append((holder, answer))
        if len(self._waiting) == 1:  # the first of a batch: everybody arriving until the loop gets to it joins
            asyncio.get_running_loop().create_task(self._check_waiting())
        return await answer

    async def _check_waiting(self) -> None:
        await asyncio.sleep(0)
        batch, self._waiting = self._waiting, []
        holders = [holder for holder, _ in batch]
        try:
            async with get_sessionmaker()() as session:
                verdicts = await ended_sessions(session, holders)
                names = await service.people(session, {h.user_id for h in holders})
        except Exception as exc:  # e.g. the database is down: every connect of the batch hears it
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (holder, answer), refused in zip(batch, verdicts):
            if answer.done():
                continue
            if refused is not None:
                answer.set_exception(EventError(refused.code, refused.reason))
            else:
                answer.set_result(Conn(token=holder, name=names[holder.user_id].name))


_authenticator = _Authenticator()


async def _authenticate(token: Any) -> Conn:
    """Who the token belongs to, or EventError with a reason a person can act on."""
    if not isinstance(token, str) or not token:
        raise EventError("missing_token", "Send the access token in the auth payload: {\"token\": \"<access token>\"}")
    try:
        holder = read_token(token)
    except SessionRefused as refused:
        raise EventError(refused.code, refused.reason) from None
    return await _authenticator.check(holder)


@sio.event
async def connect(sid: str, environ: dict, auth: Any = None):
    _ensure_background()
    token = auth.get("token") if isinstance(auth, dict) else None
    try:
        conn = await _authenticate(token)
    except EventError as exc:
        raise socketio.exceptions.ConnectionRefusedError(exc.reason, {"code": exc.code}) from None
    _conns[sid] = conn
    await sio.enter_room(sid, user_room(conn.user_id))
    await presence.register_connection(str(conn.user_id), sid)


@sio.event
async def disconnect(sid: str, reason: Any = None):
    conn = _conns.pop(sid, None)
    if conn is None:
        return
    try:
        for project_id in list(conn.projects):
            if _in_room(sid, project_room(project_id)) and await presence.leave(project_id, str(conn.user_id), sid):
                await _announce("user_left", project_id, conn.user_id, conn.name)
        await presence.unregister_connection(str(conn.user_id), sid)
    except Exception:  # the heartbeat expiry cleans up whatever this could not
        log.exception("presence cleanup failed for %s", sid)


async def _end_session(sid: str, code: str = "token_expired",
                       reason: str = "The access token has expired: refresh it and connect again") -> None:
    await _emit_error(sid, {"event": None, "code": code, "reason": reason})
    await sio.disconnect(sid)


# ----------------------------------------------------------------- event plumbing

def event(name: str, schema: type[BaseModel] | None, *aliases: str, shed: bool = False):
    """Register a handler that gets a validated payload and returns the ack body. A `shed` event (new chat
    work that fans out) is refused with `overloaded` while this process is overloaded (realtime/overload.py)."""

    def wrap(fn: Callable[[str, Conn, Any], Awaitable[dict]]):
        async def handler(sid: str, *args):
            conn = _conns.get(sid)
            if conn is None:
                return _error("not_connected", "This connection is not authenticated")
            if conn.token.expires_at <= time.time() and name != "auth":
                await _end_session(sid)
                return _error("token_expired", "The access token has expired: refresh it and connect again")
            try:
                if shed and not monitor.admit_send():
                    raise EventError("overloaded", "The server is overloaded: nothing was stored; retry after "
                                     "`retry_after` seconds", retry_after=retry_after_s())
                if schema is None:
                    body = None
                else:
                    if len(args) != 1 or not isinstance(args[0], dict):
                        raise EventError("invalid_payload", f"'{name}' takes one JSON object",
                                         [{"field": "data", "reason": "must be a JSON object"}])
                    try:
                        body = schema.model_validate(args[0])
                    except ValidationError as exc:
                        errors = _validation_errors(exc)
                        raise EventError("invalid_payload", "; ".join(f"{e['field']}: {e['reason']}"
                                                                      for e in errors[:5]), errors) from None
                result = await fn(sid, conn, body)
                return {"ok": True, **result}
            except Problem as problem:
                exc = EventError(problem.code, problem.detail, problem.errors)
            except EventError as err:
                exc = err
            except Exception as error:
                if _unavailable(error):  # an outage, not a bug: one line, no traceback
                    log.warning("socket event %s: a service is unavailable (%s)", name, type(error).__name__)
                    exc = EventError("unavailable", _UNAVAILABLE_REASON)
                else:
                    log.exception("socket event %s failed", name)
                    exc = EventError("internal", "An unexpected error occurred. It has been logged.")
            await _emit_error(sid, {"event": name, "code": exc.code, "reason": exc.reason})
            return _error(exc.code, exc.reason, exc.errors, exc.retry_after)

        for event_name in (name, *aliases):
            sio.on(event_name, handler)
        return fn

    return wrap


@sio.on("*")
async def unknown_event(event_name: str, sid: str, *args):
    reason = f"Unknown event '{str(event_name)[:64]}'"
    await _emit_error(sid, {"event": str(event_name)[:64], "code": "unknown_event", "reason": reason})
    return _error("unknown_event", reason)


@event("auth", TokenIn, "refresh_token")
async def renew(sid: str, conn: Conn, body: TokenIn) -> dict:
    """A fresh access token keeps a long-lived connection going past the old token's expiry."""
    renewed = await _authenticate(body.token)
    if renewed.user_id != conn.user_id:
        raise EventError("invalid_token", "The new token belongs to a different account")
    conn.token, conn.name = renewed.token, renewed.name
    return {"expires_at": int(renewed.token.expires_at)}


# ----------------------------------------------------------------- project rooms


@event("join_project", JoinProjectIn)
async def join_project(sid: str, conn: Conn, body: JoinProjectIn) -> dict:
    project_id, room = str(body.project_id), project_room(body.project_id)
    async with raw_connection() as db:
        await service.check_member(db, body.project_id, conn.user_id)
    await sio.enter_room(sid, room)
    came_online = await presence.join(project_id, str(conn.user_id), sid)
    # Check again now that the socket is in the room: a removal that committed in between is seen
    # here, and one that commits later finds this socket and takes it out (chat service: member_removed).
    async with raw_connection() as db:
        state = await service.join_state(db, body.project_id, conn.user_id)
        online = await service.online_people(db, body.project_id) if state is not None else []
    if state is None:
        await sio.leave_room(sid, room)
        if await presence.leave(project_id, str(conn.user_id), sid):
            await _announce("user_left", project_id, conn.user_id, conn.name)
        raise EventError("forbidden", "Only members of this project can use its chat")
    conn.projects.add(project_id)
    online_users = [u.model_dump(mode="json") for u in online]
    if came_online:
        await _announce("user_joined", project_id, conn.user_id, conn.name, online_users)
    ack = {"project_id": project_id, "online_users": online_users,
           "last_read_message_id": state.last_read_message_id, "unread_count": state.unread_count}
    if body.last_message_id is not None:
        # A reconnecting client's gap, read only now that the socket is in the room (so every later message
        # reaches it live) and the membership was checked again.
        async with get_sessionmaker()() as session:
            missed = await service.missed_messages(session, body.project_id, body.last_message_id)
        ack["missed"] = missed.model_dump(mode="json")
    return ack


@event("leave_project", ProjectRef)
async def leave_project(sid: str, conn: Conn, body: ProjectRef) -> dict:
    project_id = str(body.project_id)
    conn.projects.discard(project_id)
    if _in_room(sid, project_room(project_id)):
        await sio.leave_room(sid, project_room(project_id))
        if await presence.leave(project_id, str(conn.user_id), sid):
            await _announce("user_left", project_id, conn.user_id, conn.name)
    return {"project_id": project_id}


@event("send_message", SendMessageIn, shed=True)
async def send_message(sid: str, conn: Conn, body: SendMessageIn) -> dict:
    # Stored (and committed) first, broadcast second; membership is checked inside the INSERT.
    message = await service.send_message(body.project_id, conn.user_id, body.content, conn.name,
                                         db_wait=monitor.note_db_wait)
    return {"message": message.model_dump(mode="json")}


@event("edit_message", EditMessageIn, shed=True)
async def edit_message(sid: str, conn: Conn, body: EditMessageIn) -> dict:
    async with unit_of_work() as session:
        message = await service.edit_message(session, body.message_id, conn.user_id, body.content)
    return {"message": message.model_dump(mode="json")}


@event("delete_message", MessageRef)
async def delete_message(sid: str, conn: Conn, body: MessageRef) -> dict:
    async with unit_of_work() as session:
        message = await service.delete_message(session, body.message_id, conn.user_id)
    return {"message_id": message.id, "project_id": str(message.project_id)}


async def _throttled(kind: str, scope: str, user_id: uuid.UUID) -> bool:
    """True when this user already sent this kind of signal here within the interval (any tab, any process)."""
    interval_ms = int(get_settings().chat_typing_interval_s * 1000)
    if interval_ms <= 0:
        return False
    key = f"{get_settings().queue_namespace}:rt:{kind}:{scope}:{user_id}"
    return not await get_redis().set(key, "1", nx=True, px=interval_ms)


def _shed_signal() -> bool:
    """Typing signals are the first thing a busy process drops (they are repeated while people type)."""
    if monitor.level() >= Level.BUSY:
        monitor.dropped += 1
        return True
    return False


@event("typing", ProjectRef)
async def typing(sid: str, conn: Conn, body: ProjectRef) -> dict:
    project_id = str(body.project_id)
    # Being in the room is the check: a removed member has been taken out of it.
    if project_id not in conn.projects or not _in_room(sid, project_room(project_id)):
        raise EventError("not_joined", "Join the project chat first (join_project)")
    if _shed_signal() or await _throttled("typing", project_id, conn.user_id):
        return {"throttled": True}
    await sio.emit("typing", {"project_id": project_id, "user_id": str(conn.user_id), "user_name": conn.name},
                   room=project_room(project_id), skip_sid=sid)
    return {"throttled": False}


@event("mark_read", MarkReadEvent)
async def mark_read(sid: str, conn: Conn, body: MarkReadEvent) -> dict:
    async with unit_of_work() as session:
        state = await service.mark_read(session, body.project_id, conn.user_id, body.message_id)
    return state.model_dump(mode="json")


@event("unread_counts", None)
async def unread_counts(sid: str, conn: Conn, body: None) -> dict:
    async with get_sessionmaker()() as session:
        result = await service.unread_counts(session, conn.user_id)
    return result.model_dump(mode="json")


# ----------------------------------------------------------------- direct messages


@event("send_dm", SendDirectEvent, shed=True)
async def send_dm(sid: str, conn: Conn, body: SendDirectEvent) -> dict:
    async with unit_of_work() as session:
        message = await service.send_direct(session, conn.user_id, body.to_user_id, body.content, skip_sid=sid)
    return {"message": message.model_dump(mode="json")}


@event("dm_typing", UserRef)
async def dm_typing(sid: str, conn: Conn, body: UserRef) -> dict:
    if _shed_signal() or await _throttled("dm_typing", str(body.to_user_id), conn.user_id):
        return {"throttled": True}
    async with get_sessionmaker()() as session:
        await service.can_message(session, conn.user_id, body.to_user_id)
    await sio.emit("dm_typing", {"user_id": str(conn.user_id), "user_name": conn.name},
                   room=user_room(body.to_user_id))
    return {"throttled": False}


@event("dm_resume", DmResumeIn)
async def dm_resume(sid: str, conn: Conn, body: DmResumeIn) -> dict:
    """A reconnecting client's missed direct messages (this socket joined its user room on connect)."""
    async with get_sessionmaker()() as session:
        missed = await service.missed_direct(session, conn.user_id, body.last_message_id)
    return {"missed": missed.model_dump(mode="json")}


@event("dm_mark_read", OtherUserRef)
async def dm_mark_read(sid: str, conn: Conn, body: OtherUserRef) -> dict:
    async with unit_of_work() as session:
        count = await service.mark_direct_read(session, conn.user_id, body.other_user_id)
    return {"marked": count}


# ----------------------------------------------------------------- heartbeat, expiry and sweeping


GC_YOUNG_THRESHOLD = 50_000  # Python's default is 700


def _ensure_background() -> None:
    global _background_started
    if not _background_started:
        _background_started = True
        # Everything allocated so far (imported modules, the app, its routes and models) lives for
        # the whole process: move it out of the collector's sight. Without this a full (gen-2)
        # collection rescans that heap and stalls every open socket for hundreds of milliseconds
        # (measured in bench/realtime, see bench/results/realtime.md).
        gc.freeze()
        # A young generation this big lets the short-lived objects of chat traffic (packets, futures, message
        # dicts in flight for a few milliseconds) die before a collection sees them, so few are promoted and
        # the full collections (which rescan every connection's objects: 150-600 ms with 1,000 sockets,
        # measured in bench/realtime) seldom come due. A young collection of 50,000 objects takes a few ms.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        sio.start_background_task(_background)
        sio.start_background_task(monitor.run, _queued_packets)


def _queued_packets() -> int:
    """Engine.IO packets waiting in this process's socket queues (their writers are behind)."""
    return sum(socket.queue.qsize() for socket in sio.eio.sockets.values())  # no await: the dict holds still


# Connections re-checked per pair of queries: building the IN lists for all 1,000 connections of a process
# in one go stalled its event loop ~270 ms every REALTIME_REVALIDATE_S (the "event loop stalled" log).
_REVALIDATE_CHUNK = 100


async def _revalidate() -> None:
    """End connections whose account was deactivated, whose password was reset or whose sign-in
    session was logged out since the token was issued (api.auth.sessions' rule, checked for this
    process's connections two queries per _REVALIDATE_CHUNK, with the loop free in between)."""
    conns = list(_conns.items())
    for start in range(0, len(conns), _REVALIDATE_CHUNK):
        chunk = conns[start:start + _REVALIDATE_CHUNK]
        async with get_sessionmaker()() as session:
            verdicts = await ended_sessions(session, [conn.token for _, conn in chunk])
        for (sid, _), refused in zip(chunk, verdicts):
            if refused is not None:
                await _end_session(sid, refused.code, refused.reason)


_last_revalidation = 0.0


# Connections visited per turn of the event loop by the heartbeat's own loops: walking all 1,000 connections
# of a process in one go held the loop for tens of milliseconds on a loaded machine (py-spy of the ramp).
_TICK_CHUNK = 200


async def _tick() -> None:
    global _last_revalidation
    now = time.time()
    conns = list(_conns.items())
    for start in range(0, len(conns), _TICK_CHUNK):
        for sid, conn in conns[start:start + _TICK_CHUNK]:
            if conn.token.expires_at <= now:
                await _end_session(sid)
        await asyncio.sleep(0)
    if now - _last_revalidation >= get_settings().realtime_revalidate_s:
        _last_revalidation = now
        await _revalidate()
    entries = []
    conns = list(_conns.items())
    for start in range(0, len(conns), _TICK_CHUNK):
        for sid, conn in conns[start:start + _TICK_CHUNK]:
            if _conns.get(sid) is not conn:
                continue  # disconnected while the loop was free: refreshing it would revive its presence
            # Another process may have taken this socket out of a room (member removed).
            conn.projects = {p for p in conn.projects if _in_room(sid, project_room(p))}
            entries.append((sid, str(conn.user_id), sorted(conn.projects)))
        await asyncio.sleep(0)
    for project_id, user_id in await presence.heartbeat(entries):
        await _announce("user_joined", project_id, user_id)
    for project_id, user_id in await presence.sweep():
        await _announce("user_left", project_id, user_id)
    await _flush_deferred_presence()


async def _background() -> None:
    interval = get_settings().presence_heartbeat_s
    # Processes started together would otherwise beat together and add up their pauses.
    await sio.sleep(random.uniform(0, interval))
    while True:
        await sio.sleep(interval)
        started = time.perf_counter()
        try:
            await _tick()
            if (took := time.perf_counter() - started) > 0.2:
                log.warning("presence heartbeat took %.0f ms for %d connections", took * 1000, len(_conns))
        except Exception:  # keep beating: a Redis blip must not end presence for this process
            log.exception("presence heartbeat failed")
