"""Is an exception "PostgreSQL cannot be reached right now"? Then the caller should answer "try again later".

Stopped, restarting, refusing connections, a connection cut mid-statement, or every pooled connection
busy: a condition of the service, not a bug, and it heals by itself (SQLAlchemy's pre-ping and the
asyncpg pool reconnect on their next use). Anything else (a bad statement, a missing table, a
constraint) is not "unavailable" and stays an unexpected error.
"""
from __future__ import annotations

from types import TracebackType

import asyncpg
from sqlalchemy import exc as sa_exc

# Raised by PostgreSQL or asyncpg when the connection itself is the problem: class 08 (connection
# exceptions, incl. "connection was closed in the middle of operation"), 57P01-57P03 (administrator or
# crash shutdown, "the database system is starting up / shutting down"), 53300 (too many connections).
_UNAVAILABLE = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
                asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError,
                asyncpg.exceptions.TooManyConnectionsError)
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")


def _raised_by_driver(tb: TracebackType | None) -> bool:
    """The exception passed through asyncpg or SQLAlchemy: an OSError from there is the database's socket."""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
        tb = tb.tb_next
    return False


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # the session pool: no connection free within pool_timeout
        return True
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc):
        return True
    # Connection refused or reset, a connect timeout, a name that does not resolve: plain OSErrors
    # (TimeoutError included), from the database's socket only when they come out of the driver.
    return isinstance(exc, OSError) and _raised_by_driver(exc.__traceback__)


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps: SQLAlchemy's `orig`, a cause, every member of an exception
    group) says the database cannot be reached now."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_database_unavailable(inner) for inner in exc.exceptions)
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _unavailable(current):
            return True
        todo.extend((getattr(current, "orig", None), current.__cause__))
    return False
