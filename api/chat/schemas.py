"""Chat bodies: REST responses, and the Socket.IO event payloads (validated the same way)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.kernel.text import check_text

CONTENT_MAX = 5000
PAGE_MAX = 200


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be only whitespace")
    return value


# The text rule of every request (api.kernel.text) checked here too: socket frames do not pass the HTTP guard.
Content = Annotated[str, Field(min_length=1, max_length=CONTENT_MAX), AfterValidator(_not_blank),
                    AfterValidator(check_text)]
MessageId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
# The last message id a reconnecting client saw (0: none yet, send the newest ones).
LastSeenId = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]


class _In(BaseModel):
    # Strict: a socket frame with "5" where a number belongs is refused, not guessed at.
    model_config = ConfigDict(extra="ignore", strict=True)


# ----------------------------------------------------------------- project chat


class MessageOut(BaseModel):
    id: int
    project_id: uuid.UUID
    sender_id: uuid.UUID
    sender_name: str
    content: str
    sent_at: datetime
    edited_at: datetime | None = None
    is_deleted: bool = False


class MessagePage(BaseModel):
    """Newest first. Pass `next_before_id` as `before_id` for the next (older) page; null = no more."""

    messages: list[MessageOut]
    next_before_id: int | None
    last_read_message_id: int | None = None


class OnlineUser(BaseModel):
    user_id: uuid.UUID
    name: str
    profile_photo_url: str | None = None


class OnlineUsers(BaseModel):
    project_id: uuid.UUID
    online_users: list[OnlineUser]


class MarkReadIn(BaseModel):
    message_id: MessageId


class Missed(BaseModel):
    """What a reconnecting client missed, oldest first (see realtime/README.md, "Reconnecting").

    `complete` is false when more than the bound were missed: `messages` then holds the newest of
    them, and the older ones are paged from the history endpoint with `before_id=messages[0].id`."""

    messages: list[MessageOut]
    complete: bool


class ReadState(BaseModel):
    project_id: uuid.UUID
    last_read_message_id: int | None
    unread_count: int


class UnreadList(BaseModel):
    projects: list[ReadState]


class ReadReceipt(BaseModel):
    user_id: uuid.UUID
    name: str
    last_read_message_id: int


class ReadReceipts(BaseModel):
    project_id: uuid.UUID
    receipts: list[ReadReceipt]


class Done(BaseModel):
    message: str


# Socket.IO event payloads
class ProjectRef(_In):
    project_id: uuid.UUID = Field(strict=False)


class JoinProjectIn(ProjectRef):
    last_message_id: LastSeenId | None = None


class SendMessageIn(ProjectRef):
    content: Content


class EditMessageIn(_In):
    message_id: MessageId
    content: Content


class MessageRef(_In):
    message_id: MessageId


class MarkReadEvent(ProjectRef):
    message_id: MessageId


class TokenIn(_In):
    token: str = Field(min_length=1, max_length=4096)


# ----------------------------------------------------------------- direct messages


class DirectMessageOut(BaseModel):
    id: int
    sender_id: uuid.UUID
    recipient_id: uuid.UUID
    content: str
    sent_at: datetime
    read_at: datetime | None = None
    edited_at: datetime | None = None
    is_deleted: bool = False


class Conversation(BaseModel):
    other_user_id: uuid.UUID
    other_user_name: str
    other_user_photo_url: str | None = None
    last_message: DirectMessageOut
    unread_count: int


class ConversationList(BaseModel):
    conversations: list[Conversation]


class DirectMessagePage(BaseModel):
    """Newest first; `next_before_id` continues with older messages (null = no more)."""

    other_user_id: uuid.UUID
    messages: list[DirectMessageOut]
    next_before_id: int | None


class SendDirectIn(BaseModel):
    recipient_id: uuid.UUID
    content: Content


class SendDirectEvent(_In):
    to_user_id: uuid.UUID = Field(strict=False)
    content: Content


class UserRef(_In):
    to_user_id: uuid.UUID = Field(strict=False)


class OtherUserRef(_In):
    other_user_id: uuid.UUID = Field(strict=False)


class MissedDirect(BaseModel):
    """Direct messages a reconnecting client missed, oldest first; `complete` as in `Missed`."""

    messages: list[DirectMessageOut]
    complete: bool


class DmResumeIn(_In):
    last_message_id: LastSeenId


class OnlineStatus(BaseModel):
    user_id: uuid.UUID
    is_online: bool


class BlockedUser(BaseModel):
    user_id: uuid.UUID
    name: str
    blocked_at: datetime


class BlockList(BaseModel):
    blocked: list[BlockedUser]
