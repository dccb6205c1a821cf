"""Hooks domain services call so real-time clients learn about changes made over REST.

Each hook registers work to run after the transaction commits (never on rollback) and emits
through the write-only Redis manager, so it reaches whichever process holds the connections.
"""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from db.session import after_commit


def member_removed(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """A member left or was removed: take their sockets out of the project room at once."""
    from realtime import emitter

    after_commit(session, lambda: emitter.member_removed(project_id, user_id))


def message_deleted(session: AsyncSession, project_id: uuid.UUID, message_id: int) -> None:
    """A project chat message was deleted over REST: connected clients drop it too."""
    from realtime import emitter

    after_commit(session, lambda: emitter.message_deleted(project_id, message_id))
