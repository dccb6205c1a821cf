"""Engine, sessions and the after-commit hook.

Services take the session first and never commit; the request (or job) scope commits once.
Work that must only happen once the data is durable (enqueueing jobs, Socket.IO emits) is
registered with `after_commit` and is dropped if the transaction rolls back.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.core.settings import get_settings

log = logging.getLogger("filmo.db")
# One engine per event loop: asyncpg connections belong to the loop that opened them, and a worker
# process or a test run may drive several loops.
_engines: dict[int, tuple[AsyncEngine, async_sessionmaker[AsyncSession]]] = {}

AfterCommit = Callable[[], Awaitable[None]]


def _loop_key() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


def _pair() -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    key = _loop_key()
    if key not in _engines:
        settings = get_settings()
        engine = create_async_engine(settings.database_url, pool_size=settings.db_pool_size,
                                     max_overflow=settings.db_pool_size, pool_pre_ping=True)
        _engines[key] = (engine, async_sessionmaker(engine, expire_on_commit=False))
    return _engines[key]


def get_engine() -> AsyncEngine:
    return _pair()[0]


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return _pair()[1]


@asynccontextmanager
async def raw_connection() -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection (same pool as the sessions) for the few hot statements where
    SQLAlchemy's per-statement work dominates: storing a chat message costs ~0.3 ms CPU this way
    against ~2 ms through the ORM (bench/results/realtime.md). Each statement commits on its own,
    so such a statement must do all its work (checks included) by itself."""
    pooled = await get_engine().raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


async def dispose_engine() -> None:
    pair = _engines.pop(_loop_key(), None)
    if pair is not None:
        await pair[0].dispose()


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` after this session's transaction commits (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def _run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # the data is committed; a failed side effect is retried by its own relay
            log.exception("after-commit callback failed")


async def commit(session: AsyncSession) -> None:
    """Commit and then run the after-commit callbacks. Use this instead of session.commit()."""
    await session.commit()
    await _run_after_commit(session)


async def rollback(session: AsyncSession) -> None:
    session.info.pop("after_commit", None)
    await session.rollback()


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[AsyncSession]:
    """One transaction for a job or CLI command: commit on success, roll back on error."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await rollback(session)
            raise


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency (use `SessionDep`): one transaction per request, committed before the response."""
    async with unit_of_work() as session:
        yield session
