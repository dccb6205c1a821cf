"""Side effects that wait for the commit: enqueueing jobs, Socket.IO events, deleting stored files.

Services take the session first and never commit; the request (or job) scope commits once
(db.session.commit / unit_of_work) and then runs what was registered here, in order. On rollback
the list is dropped, so nothing is announced that did not happen. A failed callback is logged and
the others still run: the data is committed, and each side effect has its own way to catch up
(the search outbox relay, a client's history fetch).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("filmo.db")
AfterCommit = Callable[[], Awaitable[None]]
_KEY = "after_commit"


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` after this session's transaction commits (never if it rolls back)."""
    session.info.setdefault(_KEY, []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    """Called by db.session once the transaction is committed."""
    callbacks: list[AfterCommit] = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # the data is committed; a failed side effect is retried by its own relay
            log.exception("after-commit callback failed")


def drop_after_commit(session: AsyncSession) -> None:
    """Called by db.session on rollback."""
    session.info.pop(_KEY, None)
