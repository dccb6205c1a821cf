"""The one seam through which code outside the Socket.IO server pushes a real-time event.

Domain services (chat, team, ...) call `after_commit(session, event, data, room)` while they change
data, or `emit(...)` once their statement has committed on its own; either way the event is
published to Redis by a write-only `AsyncRedisManager` on the server's channel, and each server
process delivers it to the sockets it holds. Nothing goes through a process-local object, so it
reaches a client whichever process holds the connection, and every process sees the events in the
one order Redis published them (all members of a room see the same order).

Only primitives live here (rooms, emit, leave a room); what an event means for chat (who is online,
who was removed) is the chat service's business. This module imports only the kernel.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import socketio
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel import after_commit as transaction
from api.kernel.loop_local import LoopLocal
from api.kernel.redis import connection_options, manager_client
from api.kernel.settings import get_settings

NAMESPACE = "/"
Rooms = str | list[str]


def channel() -> str:
    """The Redis pub/sub channel the server processes and the write-only managers share."""
    return f"{get_settings().queue_namespace}:socketio"


def project_room(project_id: uuid.UUID | str) -> str:
    return f"project:{project_id}"


def user_room(user_id: uuid.UUID | str) -> str:
    """Every socket of a person (all tabs, all processes) joins this room on connect."""
    return f"user:{user_id}"


# Who published a pub/sub message: this process. A receiver measures the delivery age of its own messages only,
# on its own monotonic clock: another host's wall clock, off by more than REALTIME_SHED_DELIVERY_AGE_MS (250 ms;
# NTP trouble), would otherwise make every message look late and the process refuse every send.
PROCESS = uuid.uuid4().hex


def stamped(message: dict) -> dict:
    """The pub/sub message with the process and the (monotonic) time it was published: the process measures how
    late it delivers its own messages (realtime/fanout.py, an overload sign in realtime/overload.py). Its
    messages share one Redis channel and one subscriber connection with everyone else's, in order, so their
    age is the age of the backlog in front of them."""
    message["published_by"], message["published_at"] = PROCESS, time.monotonic()
    return message


def delivery_age(message: dict) -> float | None:
    """Seconds since this process published `message`; None for another process's message (or an unstamped one)."""
    published_at = message.get("published_at")
    if message.get("published_by") != PROCESS or not isinstance(published_at, (int, float)):
        return None
    return time.monotonic() - published_at


class StampedRedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager on api.kernel.redis.manager_client's bounded pool, stamping what it
    publishes (`stamped`). Base of the write-only managers here and of the server's (realtime/fanout.py)."""

    async def _publish(self, data):
        return await super()._publish(stamped(data) if isinstance(data, dict) else data)

    def _redis_connect(self):
        # python-socketio's own, with the bounded pool (redis:// URLs only, no Sentinel).
        self.redis = manager_client(self.redis_url, self.redis_options)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


# One write-only manager per event loop (its Redis connection belongs to that loop; it heals after a Redis restart).
_managers: LoopLocal[socketio.AsyncRedisManager] = LoopLocal(
    lambda: StampedRedisManager(get_settings().redis_url, channel=channel(), write_only=True,
                              redis_options=connection_options()))


async def emit(event: str, data: dict, room: Rooms, skip_sid: str | list[str] | None = None) -> None:
    await _managers.get().emit(event, data, room=room, namespace=NAMESPACE, skip_sid=skip_sid)


# Events per Redis round trip in emit_many: a few hundred kB per pipeline, never one huge write.
EMIT_MANY_CHUNK = 1000


async def emit_many(event: str, items: list[tuple[dict, str]]) -> None:
    """One `event` per (data, room), in this order: the messages `emit` publishes, sent through a Redis
    pipeline, one round trip per EMIT_MANY_CHUNK instead of one each. A project matching thousands of saved
    searches pushes thousands of notifications: one at a time they took ~0.3 ms each on an idle machine,
    several on a loaded one (bench/results/alerts.md)."""
    manager = _managers.get()
    for start in range(0, len(items), EMIT_MANY_CHUNK):
        if not manager.connected:
            manager._redis_connect()
        pipe = manager.redis.pipeline(transaction=False)
        for data, room in items[start:start + EMIT_MANY_CHUNK]:
            pipe.publish(manager.channel, manager.json.dumps(stamped({
                "method": "emit", "event": event, "data": [data], "binary": False, "namespace": NAMESPACE,
                "room": room, "skip_sid": None, "callback": None, "host_id": manager.host_id})))
        await pipe.execute()


async def leave_room(sids: Iterable[str], room: str) -> None:
    """Take these sockets out of `room`, on whichever process holds each: for a sid this process does
    not hold, the manager publishes the request on the channel and the holder executes it."""
    manager = _managers.get()
    for sid in sids:
        await manager.leave_room(sid, NAMESPACE, room)


def after_commit(session: AsyncSession, event: str, data: dict, room: Rooms,
                 skip_sid: str | list[str] | None = None) -> None:
    """Publish the event once the session's transaction commits (never if it rolls back)."""
    transaction.after_commit(session, lambda: emit(event, data, room, skip_sid))
