"""Async Redis clients (rate limits, presence, health): one per event loop, like the DB engine."""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

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
