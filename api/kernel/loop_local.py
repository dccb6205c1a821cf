"""One client per event loop: the single home of a pattern five modules used to write by hand.

Network clients (asyncpg pools, the SQLAlchemy engine, Redis, OpenSearch, the Socket.IO write-only
manager) hold connections that belong to the event loop that opened them. A worker process or a
test run drives several loops one after another, so a module-level singleton would hand one loop's
connections to another and fail with "attached to a different loop". `LoopLocal` keeps one object
per running loop (key 0 outside a loop, for synchronous callers such as CLI set-up).

    _clients = LoopLocal(lambda: Redis.from_url(...), close=lambda c: c.aclose())
    _clients.get()          # this loop's client, created on first use
    await _clients.close()  # close and forget this loop's client (app shutdown, end of a CLI command)
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def loop_key() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


class LoopLocal(Generic[T]):
    def __init__(self, create: Callable[[], T], close: Callable[[T], Awaitable[None]] | None = None) -> None:
        self._create = create
        self._close = close
        self._objects: dict[int, T] = {}

    def get(self) -> T:
        key = loop_key()
        if key not in self._objects:
            self._objects[key] = self._create()
        return self._objects[key]

    def discard(self, obj: T) -> None:
        """Forget `obj` if it is still this loop's object (e.g. a pool whose creation failed), so the
        next `get` creates a fresh one."""
        key = loop_key()
        if self._objects.get(key) is obj:
            del self._objects[key]

    def pop(self) -> T | None:
        """Forget this loop's object without closing it; returns it (None when there was none)."""
        return self._objects.pop(loop_key(), None)

    async def close(self) -> None:
        obj = self.pop()
        if obj is not None and self._close is not None:
            await self._close(obj)
