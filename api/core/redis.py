"""Async Redis clients (rate limits, presence, health): one per event loop, like the DB engine."""
from __future__ import annotations

import asyncio
import hashlib
from functools import lru_cache

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from api.core.settings import get_settings

_clients: dict[int, aioredis.Redis] = {}


def _loop_key() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


def get_redis() -> aioredis.Redis:
    key = _loop_key()
    if key not in _clients:
        _clients[key] = aioredis.Redis.from_url(get_settings().redis_url, decode_responses=True,
                                                socket_connect_timeout=2, socket_timeout=5)
    return _clients[key]


async def close_redis() -> None:
    client = _clients.pop(_loop_key(), None)
    if client is not None:
        await client.aclose()


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
