"""The async Redis client every part of the system uses (rate limits, presence, health, index locks).

One client per event loop (api.kernel.loop_local). Its pool blocks when all connections are busy:
a burst (a thousand sockets disconnecting at once) waits for a free connection instead of failing,
and a process never opens more than REDIS_MAX_CONNECTIONS.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from api.kernel.loop_local import LoopLocal
from api.kernel.settings import get_settings


def _connect() -> aioredis.Redis:
    settings = get_settings()
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=True, max_connections=settings.redis_max_connections, timeout=20,
        socket_connect_timeout=2, socket_timeout=5)
    return aioredis.Redis(connection_pool=pool)


_clients: LoopLocal[aioredis.Redis] = LoopLocal(_connect, close=lambda client: client.aclose())


def get_redis() -> aioredis.Redis:
    return _clients.get()


async def close_redis() -> None:
    await _clients.close()


@lru_cache
def _digest(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


async def run_script(client: aioredis.Redis, script: str, keys: list[str], args: list):
    """Run a Lua script by its digest (Redis keeps it compiled), sending the source only when this
    Redis has not seen it yet: one round trip, and the script body is not resent on every call."""
    try:
        return await client.evalsha(_digest(script), len(keys), *keys, *args)
    except NoScriptError:
        return await client.eval(script, len(keys), *keys, *args)
