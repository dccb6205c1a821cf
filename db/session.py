"""Engine, sessions and the transaction boundary.

Services take the session first and never commit; the request (or job) scope commits once, with
`commit` / `unit_of_work` here. Work that must only happen once the data is durable (enqueueing
jobs, Socket.IO emits) is registered with api.kernel.after_commit and is dropped on rollback.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from api.kernel.after_commit import drop_after_commit, run_after_commit
from api.kernel.loop_local import LoopLocal
from api.kernel.settings import get_settings


def _create_engine() -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    settings = get_settings()
    engine = create_async_engine(settings.database_url, pool_size=settings.db_pool_size,
                                 max_overflow=settings.db_pool_size, pool_pre_ping=True)
    return engine, async_sessionmaker(engine, expire_on_commit=False)


class _StatelessConnection(asyncpg.Connection):
    """A raw_connection() connection is returned to its pool without asyncpg's reset statement (advisory
    unlock, CLOSE ALL, UNLISTEN, RESET ALL): its users run single self-committing statements and never leave
    session state behind, and that statement was one more round trip per use, awaited before a chat batch's
    senders heard their result (py-spy of bench/realtime). An open transaction is still rolled back."""

    def get_reset_query(self) -> str:
        return ""


async def _create_raw_pool() -> asyncpg.Pool:
    settings = get_settings()
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return await asyncpg.create_pool(dsn, min_size=1, max_size=settings.db_pool_size,
                                     connection_class=_StatelessConnection)


# One engine per event loop: asyncpg connections belong to the loop that opened them.
_engines: LoopLocal[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]] = LoopLocal(
    _create_engine, close=lambda pair: pair[0].dispose())
# Plain asyncpg pools (one per loop too) for the hot statements of raw_connection(). The object kept
# is the pool's creation: one creation per loop, however many callers arrive at once.
_raw_pools: LoopLocal[asyncio.Future[asyncpg.Pool]] = LoopLocal(lambda: asyncio.ensure_future(_create_raw_pool()))


def get_engine() -> AsyncEngine:
    return _engines.get()[0]


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return _engines.get()[1]


async def _raw_pool() -> asyncpg.Pool:
    creating = _raw_pools.get()
    try:
        return await asyncio.shield(creating)
    except Exception:
        _raw_pools.discard(creating)  # try again next time (the database may be back)
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
    creating = _raw_pools.pop()
    if creating is not None and creating.done() and not creating.cancelled() and creating.exception() is None:
        await creating.result().close()
    await _engines.close()


async def commit(session: AsyncSession) -> None:
    """Commit and then run the after-commit callbacks. Use this instead of session.commit()."""
    await session.commit()
    await run_after_commit(session)


async def rollback(session: AsyncSession) -> None:
    drop_after_commit(session)
    await session.rollback()


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[AsyncSession]:
    """One transaction for a job or CLI command: commit on success, roll back on error."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            if session.in_transaction():
                await commit(session)
            else:  # nothing was read or written (e.g. a search OpenSearch answered): no commit to run,
                # ~3 % of such a request's CPU under load (py-spy, bench/throughput)
                await run_after_commit(session)
        except BaseException:
            await rollback(session)
            raise


async def get_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency (use `SessionDep`): one transaction per request, committed before the response."""
    async with unit_of_work() as session:
        yield session
