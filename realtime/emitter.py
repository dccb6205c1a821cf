"""Emit to Socket.IO clients from anywhere (REST handlers, workers, socket handlers) through Redis.

A write-only `AsyncRedisManager` on the same channel as the server publishes every event to Redis;
each server process delivers it to the sockets it holds. Nothing goes through a process-local
object, so it reaches a client whichever process holds the connection, and every process sees
the events in the one order Redis published them (all members of a room see the same order).
"""
from __future__ import annotations

import asyncio
import uuid

import socketio

from api.core.settings import get_settings
from realtime import presence

NAMESPACE = "/"
_managers: dict[int, socketio.AsyncRedisManager] = {}


def channel() -> str:
    return f"{get_settings().queue_namespace}:socketio"


def project_room(project_id: uuid.UUID | str) -> str:
    return f"project:{project_id}"


def user_room(user_id: uuid.UUID | str) -> str:
    return f"user:{user_id}"


def manager() -> socketio.AsyncRedisManager:
    """One write-only manager per event loop (its Redis connection belongs to that loop)."""
    key = id(asyncio.get_running_loop())
    if key not in _managers:
        _managers[key] = socketio.AsyncRedisManager(get_settings().redis_url, channel=channel(), write_only=True)
    return _managers[key]


async def emit(event: str, data: dict, room: str, skip_sid: str | list[str] | None = None) -> None:
    await manager().emit(event, data, room=room, namespace=NAMESPACE, skip_sid=skip_sid)


async def online_payload(project_id: uuid.UUID | str) -> list[dict]:
    """The project's online list as sent in user_joined / user_left."""
    from api.chat import service
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        listed = await service.online_users(session, uuid.UUID(str(project_id)), None, check_member=False)
    return [u.model_dump(mode="json") for u in listed.online_users]


async def announce_presence(event: str, project_id: uuid.UUID | str, user_id: uuid.UUID | str,
                            user_name: str | None = None, online_users: list[dict] | None = None) -> None:
    """user_joined / user_left {project_id, user_id, user_name, online_users} to the project room."""
    if user_name is None:
        from api.chat import service
        from db.session import get_sessionmaker

        async with get_sessionmaker()() as session:
            user_name = (await service.display_name(session, uuid.UUID(str(user_id)))).name
    await emit(event, {"project_id": str(project_id), "user_id": str(user_id), "user_name": user_name,
                       "online_users": online_users if online_users is not None else await online_payload(project_id)},
               project_room(project_id))


# ----------------------------------------------------------------- contracts used by realtime.hooks


async def member_removed(project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Take every socket of the person out of the project room, on whichever process holds it.

    The manager's `leave_room` for a sid this process does not hold is published on the channel and
    executed by the process that holds it. Sends are refused anyway (membership is checked in the
    INSERT), this stops delivery to the removed person at once.
    """
    room = project_room(project_id)
    mgr = manager()
    for sid in await presence.connection_ids(str(user_id)):
        await mgr.leave_room(sid, NAMESPACE, room)
    await emit("membership_revoked", {"project_id": str(project_id)}, user_room(user_id))
    if await presence.revoke(str(project_id), str(user_id)):
        await announce_presence("user_left", project_id, user_id)


async def message_deleted(project_id: uuid.UUID, message_id: int) -> None:
    await emit("message_deleted", {"project_id": str(project_id), "message_id": message_id}, project_room(project_id))


# ----------------------------------------------------------------- chat events


async def message(payload: dict) -> None:
    await emit("message", payload, project_room(payload["project_id"]))


async def message_edited(payload: dict) -> None:
    await emit("message_edited", payload, project_room(payload["project_id"]))


async def read_receipt(project_id: uuid.UUID, user_id: uuid.UUID, last_read_message_id: int) -> None:
    await emit("read_receipt", {"project_id": str(project_id), "user_id": str(user_id),
                                "last_read_message_id": last_read_message_id}, project_room(project_id))


async def direct_message(payload: dict, skip_sid: str | None = None) -> None:
    """To the recipient's sockets and the sender's other tabs."""
    await emit("dm", payload, [user_room(payload["recipient_id"]), user_room(payload["sender_id"])], skip_sid)


async def direct_read(reader_id: uuid.UUID, other_id: uuid.UUID) -> None:
    data = {"reader_id": str(reader_id), "other_user_id": str(other_id)}
    await emit("dm_read", data, [user_room(reader_id), user_room(other_id)])


async def direct_deleted(payload: dict) -> None:
    await emit("dm_deleted", {"message_id": payload["id"], "sender_id": payload["sender_id"],
                              "recipient_id": payload["recipient_id"]},
               [user_room(payload["recipient_id"]), user_room(payload["sender_id"])])
