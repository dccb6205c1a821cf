"""Chat rules: project messages, read receipts, direct messages and blocks.

Used by the REST router and by the Socket.IO handlers (realtime/handlers.py) alike. Functions take
the session first and never commit. Membership is checked inside the writing statement itself
(INSERT ... SELECT ... WHERE EXISTS member), so a member removed a moment ago cannot write, on any
process, without a race between a check and the write.

Every change connected clients must see is published here, through realtime.publish, once it is
committed (`publish.after_commit`), whoever made it (REST, a socket, another domain): callers never
emit chat events themselves.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta

import asyncpg
from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.chat.schemas import (BlockedUser, BlockList, Conversation, ConversationList, DirectMessageOut,
                              DirectMessagePage, MessageOut, MessagePage, Missed, MissedDirect, OnlineStatus,
                              OnlineUser, OnlineUsers, ReadReceipt, ReadReceipts, ReadState, UnreadList)
from api.kernel import after_commit as transaction
from api.kernel import ratelimit
from api.kernel.loop_local import LoopLocal
from api.kernel.problems import Problem, field_error, forbidden, not_found
from api.kernel.settings import get_settings
from db.models import (DirectMessage, Message, MessageRead, Profile, Project, ProjectMember, User, UserBlock)
from db.models.enums import MemberRole
from db.session import get_sessionmaker, raw_connection
from realtime import presence, publish
from realtime.publish import project_room, user_room

FALLBACK_NAME = "Filmo member"
MODERATORS = (MemberRole.admin, MemberRole.parent)
# Chat bumps projects.last_activity_at (the 30-day "dead" rule) at most this often per project,
# so a busy room does not turn every message into a hot-row update.
ACTIVITY_GRANULARITY = "1 minute"


# ----------------------------------------------------------------- people


async def people(session: AsyncSession, user_ids: Iterable[uuid.UUID | str]) -> dict[uuid.UUID, OnlineUser]:
    """Display name and photo of several people in one query (people without a profile get a neutral name)."""
    ids = {uuid.UUID(str(u)) for u in user_ids}
    if not ids:
        return {}
    rows = await session.execute(select(Profile.user_id, Profile.name, Profile.profile_photo_url)
                                 .where(Profile.user_id.in_(ids)))
    found = {r.user_id: OnlineUser(user_id=r.user_id, name=r.name, profile_photo_url=r.profile_photo_url)
             for r in rows}
    return {i: found.get(i) or OnlineUser(user_id=i, name=FALLBACK_NAME) for i in ids}


async def display_name(session: AsyncSession, user_id: uuid.UUID) -> OnlineUser:
    return (await people(session, [user_id]))[user_id]


# ----------------------------------------------------------------- membership


async def member_role(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> MemberRole | None:
    return await session.scalar(select(ProjectMember.member_role).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id == user_id))


async def _not_member_problem(session: AsyncSession, project_id: uuid.UUID) -> Problem:
    if await session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        return not_found("Project")
    return forbidden("Only members of this project can use its chat")


async def require_member(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> MemberRole:
    role = await member_role(session, project_id, user_id)
    if role is None:
        raise await _not_member_problem(session, project_id)
    return role


# ----------------------------------------------------------------- project messages


def _message_out(m: Message, sender_name: str) -> MessageOut:
    # A deleted message keeps its place in the history but never its text.
    return MessageOut(id=m.id, project_id=m.project_id, sender_id=m.sender_id, sender_name=sender_name,
                      content="" if m.is_deleted else m.content, sent_at=m.sent_at, edited_at=m.edited_at,
                      is_deleted=m.is_deleted)


async def _touch_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    await session.execute(
        update(Project)
        .where(Project.id == project_id,
               Project.last_activity_at < func.now() - text(f"interval '{ACTIVITY_GRANULARITY}'"))
        .values(last_activity_at=func.now()))


# The flood limit: CHAT_MESSAGES_PER_MINUTE per person, project and direct messages and edits together, over
# sockets and REST, counted in Redis (one fixed window per person), so it holds across tabs and processes.
_FLOOD_DETAIL = "You are sending messages too fast"


def _flood_key(user_id: uuid.UUID) -> str:
    return f"chat:{user_id}"


async def _count_message(user_id: uuid.UUID) -> None:
    """One more message from this person in the current minute, or 429 (on every process: Redis)."""
    await ratelimit.hit(_flood_key(user_id), get_settings().chat_messages_per_minute, 60, detail=_FLOOD_DETAIL)


# One statement stores every message waiting in this process, each only if its sender is a member right
# now, and bumps the projects' activity (at most once per ACTIVITY_GRANULARITY); all commit together. Ids
# are drawn in the statement so each stored row is matched back to its sender by id.
_STORE_MESSAGES = f"""
WITH waiting AS (
    SELECT w.ord, w.project_id, w.sender_id, w.content, nextval('messages_id_seq') AS id
    FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS w(project_id, sender_id, content, ord)
    WHERE EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = w.project_id AND m.user_id = w.sender_id)
    ORDER BY w.ord
), stored AS (
    INSERT INTO messages (id, project_id, sender_id, content)
    SELECT id, project_id, sender_id, content FROM waiting ORDER BY ord
    RETURNING id, project_id, sender_id, content, sent_at, edited_at, is_deleted
), touched AS (
    UPDATE projects SET last_activity_at = now()
    WHERE id IN (SELECT project_id FROM stored) AND last_activity_at < now() - interval '{ACTIVITY_GRANULARITY}'
)
SELECT waiting.ord, stored.* FROM stored JOIN waiting USING (id)
"""
# Messages per statement at most (a few milliseconds of PostgreSQL time).
STORE_BATCH_MAX = 200


class _MessageWriter:
    """Stores the messages of one process, in one statement for all those waiting when it gets to them.

    Storing each message on a pooled connection of its own bounded a process to (pool size / time a
    connection is held) messages a second, and on a busy event loop a connection is held for whole loop
    turns: at 100 messages/s a process waited up to a second for a connection while its CPU idled
    (bench/results/realtime.md). One writer batching what is waiting needs one connection and gets
    faster as load grows (bigger batches), like a database's group commit.

    The flood limit is counted here too, for the whole batch in one Redis script call
    (ratelimit.hit_many): the same counter and rule as every other chat write, but one round trip per batch
    instead of one per message (a send made two Redis round trips, the count and the publish, where the
    reference server of bench/realtime makes one). A refused message is never stored.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[uuid.UUID, uuid.UUID, str, asyncio.Future, float]] = []
        self._writing = False

    async def store(self, project_id: uuid.UUID, sender_id: uuid.UUID, content: str,
                    db_wait: Callable[[float], None] | None) -> asyncpg.Record | None:
        """The stored row, or None when the sender is not a member of the project; 429 over the flood limit."""
        stored: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((project_id, sender_id, content, stored, time.perf_counter()))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write(db_wait))
        return await stored

    async def _write(self, db_wait: Callable[[float], None] | None) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:STORE_BATCH_MAX]
                del self._waiting[:STORE_BATCH_MAX]
                try:
                    verdicts = await ratelimit.hit_many([_flood_key(b[1]) for b in batch],
                                                        get_settings().chat_messages_per_minute, 60,
                                                        detail=_FLOOD_DETAIL)
                except Exception as exc:  # Redis is down: nothing is stored, every sender hears it
                    verdicts = [exc] * len(batch)
                for (*_, stored, _), refused in zip(batch, verdicts):
                    if refused is not None and not stored.done():
                        stored.set_exception(refused)
                batch = [b for b, refused in zip(batch, verdicts) if refused is None]
                if not batch:
                    continue
                try:
                    async with raw_connection() as conn:
                        if db_wait is not None:  # queued behind earlier batches, plus the wait for a connection
                            db_wait(time.perf_counter() - batch[0][4])
                        rows = await conn.fetch(_STORE_MESSAGES, [b[0] for b in batch], [b[1] for b in batch],
                                                [b[2] for b in batch])
                except Exception as exc:  # every sender of the batch hears it (e.g. the database is down)
                    for *_, stored, _ in batch:
                        if not stored.done():
                            stored.set_exception(exc)
                    continue
                finally:
                    if db_wait is not None:  # the oldest send's whole wait to be stored
                        db_wait(time.perf_counter() - batch[0][4])
                by_ord = {row["ord"]: row for row in rows}
                for ord_, (*_, stored, _) in enumerate(batch, 1):
                    if not stored.done():
                        stored.set_result(by_ord.get(ord_))
        finally:
            self._writing = False


_writers: LoopLocal[_MessageWriter] = LoopLocal(_MessageWriter)


async def send_message(project_id: uuid.UUID, sender_id: uuid.UUID, content: str, sender_name: str, *,
                       db_wait: Callable[[float], None] | None = None) -> MessageOut:
    """Store a message if (and only if) the sender is a member right now, then publish it.

    The chat's hot path: raw asyncpg (db.session.raw_connection), not a session, because the ORM spent
    ~2 ms CPU per message where the statement costs ~0.15 ms; and one statement for all the messages
    waiting in the process (_MessageWriter). `db_wait` hears how long the oldest send of a batch waited to be
    stored: queued behind earlier batches, for a pooled connection and for the statement (the Socket.IO server
    sheds load on it).
    """
    row = await _writers.get().store(project_id, sender_id, content, db_wait)  # counts it against the flood limit
    if row is None:
        async with raw_connection() as conn:
            if await conn.fetchval("SELECT 1 FROM projects WHERE id = $1", project_id) is None:
                raise not_found("Project")
        raise forbidden("Only members of this project can use its chat")
    message = MessageOut(sender_name=sender_name, **{k: v for k, v in row.items() if k != "ord"})
    # The statement has committed on its own: publish at once.
    await publish.emit("message", message.model_dump(mode="json"), project_room(project_id))
    return message


async def _load_message(session: AsyncSession, message_id: int) -> Message:
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None:
        raise not_found("Message")
    return message


async def edit_message(session: AsyncSession, message_id: int, user_id: uuid.UUID, content: str) -> MessageOut:
    await _count_message(user_id)
    message = await _load_message(session, message_id)
    role = await member_role(session, message.project_id, user_id)
    if role is None:
        raise await _not_member_problem(session, message.project_id)
    if message.sender_id != user_id:
        raise forbidden("Only the author can edit a message")
    if message.is_deleted:
        raise Problem(409, "This message was deleted and cannot be edited")
    message.content = content
    message.edited_at = func.now()
    await session.flush()
    await session.refresh(message, ["edited_at"])
    await _touch_project(session, message.project_id)
    edited = _message_out(message, (await display_name(session, user_id)).name)
    publish.after_commit(session, "message_edited", edited.model_dump(mode="json"), project_room(edited.project_id))
    return edited


async def delete_message(session: AsyncSession, message_id: int, user_id: uuid.UUID) -> MessageOut:
    """Soft delete by the author, or by an admin/parent of the project. Idempotent for allowed callers."""
    message = await _load_message(session, message_id)
    role = await member_role(session, message.project_id, user_id)
    if role is None:
        raise await _not_member_problem(session, message.project_id)
    if message.sender_id != user_id and role not in MODERATORS:
        raise forbidden("Only the author or a project admin/parent can delete this message")
    if not message.is_deleted:
        message.is_deleted = True
        message.deleted_at = func.now()
        await session.flush()
    publish.after_commit(session, "message_deleted", {"project_id": str(message.project_id), "message_id": message.id},
                         project_room(message.project_id))
    return _message_out(message, (await display_name(session, message.sender_id)).name)


async def list_messages(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID,
                        before_id: int | None, limit: int) -> MessagePage:
    await require_member(session, project_id, user_id)
    stmt = (select(Message, func.coalesce(Profile.name, FALLBACK_NAME).label("sender_name"))
            .outerjoin(Profile, Profile.user_id == Message.sender_id)
            .where(Message.project_id == project_id)
            .order_by(Message.id.desc()).limit(limit + 1))
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    rows = (await session.execute(stmt)).all()
    page = rows[:limit]
    last_read = await session.scalar(select(MessageRead.last_read_message_id).where(
        MessageRead.project_id == project_id, MessageRead.user_id == user_id))
    return MessagePage(messages=[_message_out(r.Message, r.sender_name) for r in page],
                       next_before_id=page[-1].Message.id if len(rows) > limit else None,
                       last_read_message_id=last_read)


# ----------------------------------------------------------------- recovery after a reconnect
#
# A reconnecting client passes the last message id it saw and gets what came after it, from the stored
# messages (python-socketio has no connection state recovery of its own). Ids are drawn before commit,
# and each message is published after its commit, so under concurrent sends a lower id can reach a
# client after a higher one: the answer also repeats the messages stored up to RECOVERY_OVERLAP before
# the last one seen (at most RECOVERY_OVERLAP_MAX, within RECOVERY_OVERLAP_IDS ids, which bounds the
# index walk), and the client drops the ids it already has.
RECOVERY_OVERLAP = timedelta(seconds=5)
RECOVERY_OVERLAP_IDS = 5000
RECOVERY_OVERLAP_MAX = 50


async def missed_messages(session: AsyncSession, project_id: uuid.UUID, last_seen_id: int) -> Missed:
    """The project's messages after `last_seen_id`, oldest first, at most CHAT_RECOVERY_MAX_MESSAGES: the newest
    of them, `complete=False`, when more were missed. The caller has checked membership (join_project does,
    after entering the room, so every later message reaches the socket live and none falls between)."""
    bound = get_settings().chat_recovery_max_messages
    base = (select(Message, func.coalesce(Profile.name, FALLBACK_NAME).label("sender_name"))
            .outerjoin(Profile, Profile.user_id == Message.sender_id).where(Message.project_id == project_id))
    newer = (await session.execute(base.where(Message.id > last_seen_id)
                                   .order_by(Message.id.desc()).limit(bound + 1))).all()
    complete = len(newer) <= bound
    rows = newer[:bound][::-1]
    if complete and last_seen_id:
        seen_at = (select(Message.sent_at).where(Message.project_id == project_id, Message.id <= last_seen_id)
                   .order_by(Message.id.desc()).limit(1).scalar_subquery())
        overlap = (await session.execute(
            base.where(Message.id < last_seen_id, Message.id > last_seen_id - RECOVERY_OVERLAP_IDS,
                       Message.sent_at >= seen_at - RECOVERY_OVERLAP)
            .order_by(Message.id.desc()).limit(RECOVERY_OVERLAP_MAX))).all()
        rows = overlap[::-1] + rows
    return Missed(messages=[_message_out(r.Message, r.sender_name) for r in rows], complete=complete)


async def _unread(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, after_id: int | None) -> int:
    return await session.scalar(select(func.count()).select_from(Message).where(
        Message.project_id == project_id, Message.id > (after_id or 0), Message.sender_id != user_id,
        Message.is_deleted.is_(False)))


async def mark_read(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, message_id: int) -> ReadState:
    """Move the reader's mark forward (never back) to a message of this project."""
    await require_member(session, project_id, user_id)
    in_project = await session.scalar(select(Message.id).where(Message.id == message_id,
                                                               Message.project_id == project_id))
    if in_project is None:
        raise field_error("message_id", "no such message in this project", status=404)
    stmt = pg_insert(MessageRead).values(project_id=project_id, user_id=user_id, last_read_message_id=message_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=[MessageRead.project_id, MessageRead.user_id],
        set_={"last_read_message_id": func.greatest(MessageRead.last_read_message_id,
                                                    stmt.excluded.last_read_message_id),
              "updated_at": func.now()}).returning(MessageRead.last_read_message_id)
    last_read = (await session.execute(stmt)).scalar_one()
    publish.after_commit(session, "read_receipt", {"project_id": str(project_id), "user_id": str(user_id),
                                                   "last_read_message_id": last_read}, project_room(project_id))
    return ReadState(project_id=project_id, last_read_message_id=last_read,
                     unread_count=await _unread(session, project_id, user_id, last_read))


async def read_state(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> ReadState:
    await require_member(session, project_id, user_id)
    last_read = await session.scalar(select(MessageRead.last_read_message_id).where(
        MessageRead.project_id == project_id, MessageRead.user_id == user_id))
    return ReadState(project_id=project_id, last_read_message_id=last_read,
                     unread_count=await _unread(session, project_id, user_id, last_read))


async def unread_counts(session: AsyncSession, user_id: uuid.UUID) -> UnreadList:
    """Unread counts of every project the person belongs to, in one statement."""
    unread = (select(func.count()).select_from(Message)
              .where(Message.project_id == ProjectMember.project_id,
                     Message.id > func.coalesce(MessageRead.last_read_message_id, 0),
                     Message.sender_id != user_id, Message.is_deleted.is_(False))
              .correlate(ProjectMember, MessageRead).scalar_subquery())
    rows = await session.execute(
        select(ProjectMember.project_id, MessageRead.last_read_message_id, unread.label("unread"))
        .outerjoin(MessageRead, and_(MessageRead.project_id == ProjectMember.project_id,
                                     MessageRead.user_id == ProjectMember.user_id))
        .where(ProjectMember.user_id == user_id).order_by(ProjectMember.joined_at))
    return UnreadList(projects=[ReadState(project_id=r.project_id, last_read_message_id=r.last_read_message_id,
                                          unread_count=r.unread) for r in rows])


async def read_receipts(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> ReadReceipts:
    """Each current member's last read message."""
    await require_member(session, project_id, user_id)
    rows = await session.execute(
        select(MessageRead.user_id, MessageRead.last_read_message_id,
               func.coalesce(Profile.name, FALLBACK_NAME).label("name"))
        .join(ProjectMember, and_(ProjectMember.project_id == MessageRead.project_id,
                                  ProjectMember.user_id == MessageRead.user_id))
        .outerjoin(Profile, Profile.user_id == MessageRead.user_id)
        .where(MessageRead.project_id == project_id).order_by(MessageRead.last_read_message_id.desc()))
    return ReadReceipts(project_id=project_id, receipts=[
        ReadReceipt(user_id=r.user_id, name=r.name, last_read_message_id=r.last_read_message_id) for r in rows])


async def online_users(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID | None,
                       *, check_member: bool = True) -> OnlineUsers:
    if check_member:
        await require_member(session, project_id, user_id)
    ids = await presence.online_user_ids(str(project_id))
    found = await people(session, ids)
    listed = sorted(found.values(), key=lambda p: (p.name.lower(), str(p.user_id)))
    return OnlineUsers(project_id=project_id, online_users=listed)


# ----------------------------------------------------------------- joining a room (the socket's hot path)
#
# 2,000 clients connecting and joining their rooms spent most of the servers' CPU in the ORM: six
# statements and two transactions per join (bench/results/realtime.md, py-spy of the connect+join path).
# These take a raw asyncpg connection (db.session.raw_connection) and do the same checks in three statements.

_IS_MEMBER = "SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2"
# The member's read state, or no row when they are not a member (the join's re-check and its answer at once).
_JOIN_STATE = """
SELECT r.last_read_message_id,
       (SELECT count(*) FROM messages m
        WHERE m.project_id = $1 AND m.id > coalesce(r.last_read_message_id, 0) AND m.sender_id <> $2
          AND NOT m.is_deleted) AS unread_count
FROM project_members pm
LEFT JOIN message_reads r ON r.project_id = pm.project_id AND r.user_id = pm.user_id
WHERE pm.project_id = $1 AND pm.user_id = $2
"""
# One prepared statement whatever the number of people (an IN list is a new statement per length).
_PEOPLE = "SELECT user_id, name, profile_photo_url FROM user_profiles WHERE user_id = ANY($1::uuid[])"


async def check_member(conn: asyncpg.Connection, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Not a member: 404 when the project does not exist, else 403."""
    if await conn.fetchval(_IS_MEMBER, project_id, user_id) is None:
        if await conn.fetchval("SELECT 1 FROM projects WHERE id = $1", project_id) is None:
            raise not_found("Project")
        raise forbidden("Only members of this project can use its chat")


async def join_state(conn: asyncpg.Connection, project_id: uuid.UUID, user_id: uuid.UUID) -> ReadState | None:
    """The member's read state (last read message, unread count), or None when they are not a member now."""
    row = await conn.fetchrow(_JOIN_STATE, project_id, user_id)
    return None if row is None else ReadState(project_id=project_id, **row)


async def online_people(conn: asyncpg.Connection, project_id: uuid.UUID) -> list[OnlineUser]:
    """Who is online in the project (presence, in Redis) with names and photos, sorted by name."""
    ids = [uuid.UUID(i) for i in await presence.online_user_ids(str(project_id))]
    found = {r["user_id"]: OnlineUser(**r) for r in await conn.fetch(_PEOPLE, ids)} if ids else {}
    listed = [found.get(i) or OnlineUser(user_id=i, name=FALLBACK_NAME) for i in ids]
    return sorted(listed, key=lambda p: (p.name.lower(), str(p.user_id)))


# ----------------------------------------------------------------- direct messages and blocks
#
# A block stops direct messages in BOTH directions (the blocker unblocks to write again, so a
# blocked person never receives a message they cannot answer) and hides the blocker's online
# status from the blocked person. Project chat is shared team space and is not affected.


def _dm_out(m: DirectMessage) -> DirectMessageOut:
    return DirectMessageOut(id=m.id, sender_id=m.sender_id, recipient_id=m.recipient_id,
                            content="" if m.is_deleted else m.content, sent_at=m.sent_at, read_at=m.read_at,
                            edited_at=m.edited_at, is_deleted=m.is_deleted)


async def _active_user(session: AsyncSession, user_id: uuid.UUID, field: str) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise field_error(field, "no such person", status=404)
    return user


async def blocks_between(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> tuple[bool, bool]:
    """(I blocked them, they blocked me)."""
    rows = (await session.execute(select(UserBlock.blocker_id).where(or_(
        and_(UserBlock.blocker_id == me, UserBlock.blocked_id == other),
        and_(UserBlock.blocker_id == other, UserBlock.blocked_id == me))))).scalars().all()
    return me in rows, other in rows


async def can_message(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    i_blocked, they_blocked = await blocks_between(session, me, other)
    if i_blocked:
        raise forbidden("You blocked this person; unblock them to send messages")
    if they_blocked:
        raise forbidden("This person is not accepting messages from you")


async def send_direct(session: AsyncSession, sender_id: uuid.UUID, recipient_id: uuid.UUID,
                      content: str, *, skip_sid: str | None = None) -> DirectMessageOut:
    """Store a direct message; after commit it reaches the recipient's sockets and the sender's other
    tabs (`skip_sid`: the sender's socket that already has it in its ack)."""
    if recipient_id == sender_id:
        raise field_error("recipient_id", "you cannot send a direct message to yourself")
    await _count_message(sender_id)
    await _active_user(session, recipient_id, "recipient_id")
    await can_message(session, sender_id, recipient_id)
    message = DirectMessage(sender_id=sender_id, recipient_id=recipient_id, content=content)
    session.add(message)
    await session.flush()
    await session.refresh(message, ["sent_at", "is_deleted"])
    sent = _dm_out(message)
    publish.after_commit(session, "dm", sent.model_dump(mode="json"), [user_room(recipient_id), user_room(sender_id)],
                         skip_sid)
    return sent


async def conversations(session: AsyncSession, me: uuid.UUID) -> ConversationList:
    """One row per person I exchanged messages with: last message and my unread count, in one query."""
    sql = text("""
        WITH mine AS (
            SELECT id, sender_id, recipient_id, content, sent_at, read_at, edited_at, is_deleted,
                   CASE WHEN sender_id = :me THEN recipient_id ELSE sender_id END AS other_id
            FROM direct_messages WHERE sender_id = :me
            UNION ALL
            SELECT id, sender_id, recipient_id, content, sent_at, read_at, edited_at, is_deleted, sender_id
            FROM direct_messages WHERE recipient_id = :me
        ), ranked AS (
            SELECT mine.*,
                   row_number() OVER (PARTITION BY other_id ORDER BY id DESC) AS rn,
                   count(*) FILTER (WHERE recipient_id = :me AND read_at IS NULL AND NOT is_deleted)
                       OVER (PARTITION BY other_id) AS unread
            FROM mine
        )
        SELECT r.*, coalesce(p.name, :fallback) AS other_name, p.profile_photo_url AS other_photo
        FROM ranked r LEFT JOIN user_profiles p ON p.user_id = r.other_id
        WHERE r.rn = 1
        ORDER BY r.id DESC
    """)
    rows = (await session.execute(sql, {"me": me, "fallback": FALLBACK_NAME})).mappings().all()
    return ConversationList(conversations=[Conversation(
        other_user_id=r["other_id"], other_user_name=r["other_name"], other_user_photo_url=r["other_photo"],
        unread_count=r["unread"],
        last_message=DirectMessageOut(id=r["id"], sender_id=r["sender_id"], recipient_id=r["recipient_id"],
                                      content="" if r["is_deleted"] else r["content"], sent_at=r["sent_at"],
                                      read_at=r["read_at"], edited_at=r["edited_at"], is_deleted=r["is_deleted"]))
        for r in rows])


def _pair(a: uuid.UUID, b: uuid.UUID):
    lo, hi = sorted([a, b], key=str)
    return and_(func.least(DirectMessage.sender_id, DirectMessage.recipient_id) == lo,
                func.greatest(DirectMessage.sender_id, DirectMessage.recipient_id) == hi)


async def history(session: AsyncSession, me: uuid.UUID, other: uuid.UUID, before_id: int | None,
                  limit: int) -> DirectMessagePage:
    stmt = select(DirectMessage).where(_pair(me, other)).order_by(DirectMessage.id.desc()).limit(limit + 1)
    if before_id is not None:
        stmt = stmt.where(DirectMessage.id < before_id)
    rows = (await session.execute(stmt)).scalars().all()
    page = rows[:limit]
    return DirectMessagePage(other_user_id=other, messages=[_dm_out(m) for m in page],
                             next_before_id=page[-1].id if len(rows) > limit else None)


async def _my_direct(session: AsyncSession, me: uuid.UUID, *conditions, limit: int) -> list[DirectMessage]:
    """My direct messages (sent and received) matching `conditions`, newest first: one index walk per side."""
    sides = []
    for side in (DirectMessage.sender_id, DirectMessage.recipient_id):
        stmt = select(DirectMessage).where(side == me, *conditions).order_by(DirectMessage.id.desc()).limit(limit)
        sides += (await session.execute(stmt)).scalars().all()
    return sorted(sides, key=lambda m: m.id, reverse=True)[:limit]


async def missed_direct(session: AsyncSession, me: uuid.UUID, last_seen_id: int) -> MissedDirect:
    """My direct messages after `last_seen_id` (received, and sent from my other tabs), oldest first; bounded
    and overlapping like `missed_messages`. My socket is in my user room since it connected, so later
    messages reach it live."""
    bound = get_settings().chat_recovery_max_messages
    newer = await _my_direct(session, me, DirectMessage.id > last_seen_id, limit=bound + 1)
    complete = len(newer) <= bound
    rows = newer[:bound][::-1]
    if complete and last_seen_id:
        last = await _my_direct(session, me, DirectMessage.id <= last_seen_id, limit=1)
        if last:
            overlap = await _my_direct(session, me, DirectMessage.id < last_seen_id,
                                       DirectMessage.id > last_seen_id - RECOVERY_OVERLAP_IDS,
                                       DirectMessage.sent_at >= last[0].sent_at - RECOVERY_OVERLAP,
                                       limit=RECOVERY_OVERLAP_MAX)
            rows = overlap[::-1] + rows
    return MissedDirect(messages=[_dm_out(m) for m in rows], complete=complete)


async def mark_direct_read(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> int:
    result = await session.execute(update(DirectMessage).where(
        DirectMessage.recipient_id == me, DirectMessage.sender_id == other, DirectMessage.read_at.is_(None))
        .values(read_at=func.now()))
    count = result.rowcount or 0
    if count:
        publish.after_commit(session, "dm_read", {"reader_id": str(me), "other_user_id": str(other)},
                             [user_room(me), user_room(other)])
    return count


async def delete_direct(session: AsyncSession, me: uuid.UUID, message_id: int) -> DirectMessageOut:
    message = await session.get(DirectMessage, message_id, with_for_update=True)
    # Someone else's message is reported as missing: ids of other conversations stay private.
    if message is None or me not in (message.sender_id, message.recipient_id):
        raise not_found("Message")
    if message.sender_id != me:
        raise forbidden("You can only delete messages you sent")
    message.is_deleted = True
    await session.flush()
    publish.after_commit(session, "dm_deleted", {"message_id": message.id, "sender_id": str(message.sender_id),
                                                 "recipient_id": str(message.recipient_id)},
                         [user_room(message.recipient_id), user_room(message.sender_id)])
    return _dm_out(message)


async def block(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> None:
    if other == me:
        raise field_error("user_id", "you cannot block yourself")
    await _active_user(session, other, "user_id")
    await session.execute(pg_insert(UserBlock).values(blocker_id=me, blocked_id=other).on_conflict_do_nothing())


async def unblock(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> bool:
    result = await session.execute(delete(UserBlock).where(UserBlock.blocker_id == me, UserBlock.blocked_id == other))
    return bool(result.rowcount)


async def blocked_list(session: AsyncSession, me: uuid.UUID) -> BlockList:
    rows = await session.execute(
        select(UserBlock.blocked_id, UserBlock.created_at, func.coalesce(Profile.name, FALLBACK_NAME).label("name"))
        .outerjoin(Profile, Profile.user_id == UserBlock.blocked_id)
        .where(UserBlock.blocker_id == me).order_by(UserBlock.created_at.desc()))
    return BlockList(blocked=[BlockedUser(user_id=r.blocked_id, name=r.name, blocked_at=r.created_at) for r in rows])


async def online_status(session: AsyncSession, me: uuid.UUID, other: uuid.UUID) -> OnlineStatus:
    await _active_user(session, other, "user_id")
    _, they_blocked = await blocks_between(session, me, other)
    online = False if they_blocked else await presence.is_online(str(other))
    return OnlineStatus(user_id=other, is_online=online)


# ----------------------------------------------------------------- presence announcements and removals


async def announce_presence(event: str, project_id: uuid.UUID | str, user_id: uuid.UUID | str,
                            user_name: str | None = None, online: list[dict] | None = None) -> None:
    """user_joined / user_left {project_id, user_id, user_name, online_users} to the project room.

    Called by the Socket.IO server (joins, disconnects, the presence sweep) and after a removal;
    it reads what it is not given (name, online list) in a session of its own."""
    if user_name is None or online is None:
        async with get_sessionmaker()() as session:
            if user_name is None:
                user_name = (await display_name(session, uuid.UUID(str(user_id)))).name
            if online is None:
                listed = await online_users(session, uuid.UUID(str(project_id)), None, check_member=False)
                online = [u.model_dump(mode="json") for u in listed.online_users]
    await publish.emit(event, {"project_id": str(project_id), "user_id": str(user_id), "user_name": user_name,
                               "online_users": online}, project_room(project_id))


def member_removed(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """A member left or was removed: once committed, cut them off the project's chat at once.

    Their sockets leave the project room on whichever process holds them (sends are refused anyway,
    membership is checked in the INSERT; this stops delivery to them), they get
    `membership_revoked`, and the room hears `user_left` if they were online there."""

    async def cut_off() -> None:
        await publish.leave_room(await presence.connection_ids(str(user_id)), project_room(project_id))
        await publish.emit("membership_revoked", {"project_id": str(project_id)}, user_room(user_id))
        if await presence.revoke(str(project_id), str(user_id)):
            await announce_presence("user_left", project_id, user_id)

    transaction.after_commit(session, cut_off)
