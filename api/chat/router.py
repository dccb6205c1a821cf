"""HTTP endpoints for project chat (/chat) and direct messages (/dm); rules live in service.py.

Live delivery is Socket.IO (realtime/); the service publishes every change made here to connected
clients once the request's transaction commits.
"""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.auth.dependencies import CurrentUser
from api.chat import service
from api.chat.schemas import (PAGE_MAX, BlockList, ConversationList, DirectMessageOut, DirectMessagePage, Done,
                              MarkReadIn, MessageOut, MessagePage, OnlineStatus, OnlineUsers, ReadReceipts,
                              ReadState, SendDirectIn, UnreadList)
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import set_next_link

router = APIRouter(prefix="/chat", tags=["chat"])
dm_router = APIRouter(prefix="/dm", tags=["dm"])

BeforeId = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Return messages older than this id")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
MessageIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


# ----------------------------------------------------------------- project chat


@router.get("/messages/{project_id}", name="list-messages", summary="Read a project's message history",
            response_model=MessagePage, responses={**headers("Link"), **problems(403, 404)})
async def get_messages(project_id: uuid.UUID, session: SessionDep, user: CurrentUser, request: Request,
                       response: Response, before_id: BeforeId = None, limit: Limit = 50):
    """Message history, newest first (members only). Page back with `before_id=next_before_id` (or follow
    `Link: rel="next"`); both are absent on the oldest page."""
    page = await service.list_messages(session, project_id, user.id, before_id, limit)
    if page.next_before_id is not None:
        set_next_link(request, response, before_id=page.next_before_id, limit=limit)
    return page


@router.delete("/message/{message_id}", name="delete-message", summary="Delete a chat message",
               response_model=MessageOut, responses=problems(403, 404))
async def delete_message(message_id: MessageIdPath, session: SessionDep, user: CurrentUser):
    """Soft-delete a message (its author, or a project admin/parent); connected members see it vanish."""
    return await service.delete_message(session, message_id, user.id)


@router.get("/online-users/{project_id}", name="online-users", summary="List the members online now",
            response_model=OnlineUsers, responses=problems(403, 404))
async def get_online_users(project_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Members connected to the project's chat right now (members only)."""
    return await service.online_users(session, project_id, user.id)


@router.get("/unread", name="unread", summary="Count unread messages per project", response_model=UnreadList)
async def get_unread(session: SessionDep, user: CurrentUser):
    """Unread message counts of every project you belong to."""
    return await service.unread_counts(session, user.id)


@router.post("/mark-read/{project_id}", name="mark-read", summary="Mark a project's chat read up to a message",
             response_model=ReadState,
             responses=problems(403, 404, s404="No such project, or no such message in it (`errors` names "
                                               "`message_id`)"))
async def mark_read(project_id: uuid.UUID, body: MarkReadIn, session: SessionDep, user: CurrentUser):
    """Record that you have read up to `message_id` (the mark never moves back)."""
    return await service.mark_read(session, project_id, user.id, body.message_id)


@router.get("/read-receipts/{project_id}", name="read-receipts", summary="Read each member's last read message",
            response_model=ReadReceipts, responses=problems(403, 404))
async def get_read_receipts(project_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Each member's last read message (members only)."""
    return await service.read_receipts(session, project_id, user.id)


# ----------------------------------------------------------------- direct messages


@dm_router.get("/conversations", name="conversations", summary="List your conversations",
               response_model=ConversationList)
async def get_conversations(session: SessionDep, user: CurrentUser):
    """Everyone you exchanged messages with: the last message and your unread count, newest first."""
    return await service.conversations(session, user.id)


@dm_router.get("/messages/{other_user_id}", name="history", summary="Read a conversation with one person",
               response_model=DirectMessagePage, responses=headers("Link"))
async def get_history(other_user_id: uuid.UUID, session: SessionDep, user: CurrentUser, request: Request,
                      response: Response, before_id: BeforeId = None, limit: Limit = 50):
    """The conversation with one person, newest first. Page back with `before_id=next_before_id` (or follow
    `Link: rel="next"`); both are absent on the oldest page."""
    page = await service.history(session, user.id, other_user_id, before_id, limit)
    if page.next_before_id is not None:
        set_next_link(request, response, before_id=page.next_before_id, limit=limit)
    return page


@dm_router.post("/send", name="send", summary="Send a direct message", response_model=DirectMessageOut,
                status_code=201,
                responses=problems(403, 404, 429, s403="You blocked this person, or they blocked you",
                                   s404="No such person (`errors` names `recipient_id`)"))
async def send_direct(body: SendDirectIn, session: SessionDep, user: CurrentUser):
    """Send a direct message (also possible over Socket.IO with `send_dm`)."""
    return await service.send_direct(session, user.id, body.recipient_id, body.content)


@dm_router.post("/mark-read/{other_user_id}", name="mark-read", summary="Mark a conversation read",
                response_model=Done)
async def mark_direct_read(other_user_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Mark every message this person sent you as read."""
    count = await service.mark_direct_read(session, user.id, other_user_id)
    return Done(message=f"{count} message{'s' if count != 1 else ''} marked as read")


@dm_router.delete("/messages/{message_id}", name="delete", summary="Delete a direct message you sent",
                  response_model=Done, responses=problems(403, 404))
async def delete_direct(message_id: MessageIdPath, session: SessionDep, user: CurrentUser):
    """Delete a direct message you sent (both sides see it as deleted)."""
    await service.delete_direct(session, user.id, message_id)
    return Done(message="Message deleted")


@dm_router.get("/online/{user_id}", name="online", summary="Tell whether a person is online",
               response_model=OnlineStatus, responses=problems(404))
async def get_online(user_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Whether a person is connected right now (always false for someone who blocked you)."""
    return await service.online_status(session, user.id, user_id)


@dm_router.get("/blocked", name="blocked", summary="List the people you blocked", response_model=BlockList)
async def get_blocked(session: SessionDep, user: CurrentUser):
    """People you blocked."""
    return await service.blocked_list(session, user.id)


@dm_router.post("/block/{user_id}", name="block", summary="Block a person", response_model=Done,
                responses=problems(404))
async def block_user(user_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Block a person: no direct messages either way, and they no longer see when you are online."""
    await service.block(session, user.id, user_id)
    return Done(message="User blocked")


@dm_router.delete("/block/{user_id}", name="unblock", summary="Lift a block", response_model=Done)
async def unblock_user(user_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    """Lift a block you set."""
    removed = await service.unblock(session, user.id, user_id)
    return Done(message="User unblocked" if removed else "User was not blocked")
