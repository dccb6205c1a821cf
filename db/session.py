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
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.core.settings import get_settings

log = logging.getLogger("filmo.db")
# One engine per event loop: asyncpg connections belong to the loop that opened them, and a worker
# process or a test run may drive several loops.
_engines: dict[int, tuple[AsyncEngine, async_sessionmaker[AsyncSession]]] = {}

# Plain asyncpg pools (one per loop too) for the hot statements of raw_connection().
_raw_pools: dict[int, asyncio.Future[asyncpg.Pool]] = {}

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


async def _create_raw_pool() -> asyncpg.Pool:
    settings = get_settings()
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(dsn, min_size=1, max_size=settings.db_pool_size)


async def _raw_pool() -> asyncpg.Pool:
    key = _loop_key()
    if key not in _raw_pools:  # one creation per loop, however many callers arrive at once
        _raw_pools[key] = asyncio.ensure_future(_create_raw_pool())
    creating = _raw_pools[key]
    try:
        return await asyncio.shield(creating)
    except Exception:
        if _raw_pools.get(key) is creating:  # try again next time (the database may be back)
            del _raw_pools[key]
        raise


@asynccontextmanager
async def raw_connection() -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection for the few hot statements where SQLAlchemy's per-statement work
    dominates: storing a chat message costs ~0.15 ms CPU this way against ~2 ms through the ORM
    (bench/results/realtime.md). Its own small pool, without SQLAlchemy's pre-ping (three extra round
    trips per checkout); a connection that died is replaced when it is next acquired. Each statement
    commits on its own, so such a statement must do all its work (checks included) by itself."""
    async with (await _raw_pool()).acquire() as conn:
        yield conn


async def dispose_engine() -> None:
    creating = _raw_pools.pop(_loop_key(), None)
    if creating is not None and creating.done() and not creating.cancelled() and creating.exception() is None:
        await creating.result().close()
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
