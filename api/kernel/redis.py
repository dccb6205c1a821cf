"""The async Redis client every part of the system uses (rate limits, presence, health, index locks).

One client per event loop (api.kernel.loop_local). Its pool blocks when all connections are busy:
a burst (a thousand sockets disconnecting at once) waits for a free connection instead of failing,
and a process never opens more than REDIS_MAX_CONNECTIONS.

Every Redis connection of ours heals by itself (`connection_options`): this client, Socket.IO's managers
(realtime/server.py, realtime/publish.py) and Dramatiq's broker (api/worker/broker.py). A Redis restart
leaves every pooled connection dead; without this, each of them failed one command before reconnecting.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from api.kernel.loop_local import LoopLocal
from api.kernel.settings import get_settings


# A connection idle for longer than this is PINGed before it is used; a command that fails with a connection
# error or a timeout reconnects and is sent again, up to RETRIES times (after 50 ms, 100 ms, 200 ms, with jitter),
# so a Redis restart or a network blip costs a reconnect, not an error.
HEALTH_CHECK_INTERVAL_S = 10
RETRIES = 3


def connection_options(*, asyncio: bool = True) -> dict:
    """Keyword arguments that make a Redis client or pool heal (`asyncio=False` for redis-py's synchronous client,
    e.g. Dramatiq's). No read timeout here: a pub/sub subscriber blocks on its read by design."""
    return {
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "retry": (AsyncRetry if asyncio else Retry)(ExponentialWithJitterBackoff(base=0.05, cap=0.5), RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_keepalive": True,
        "socket_connect_timeout": 2,
    }


def _connect() -> aioredis.Redis:
    settings = get_settings()
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, decode_responses=True, max_connections=settings.redis_max_connections, timeout=20,
        socket_timeout=5, **connection_options())
    return aioredis.Redis(connection_pool=pool)


_clients: LoopLocal[aioredis.Redis] = LoopLocal(_connect, close=lambda client: client.aclose())

# Connections one Socket.IO manager's client may hold (a subscriber's pub/sub takes one of them).
MANAGER_MAX_CONNECTIONS = 32


def manager_client(url: str, options: dict) -> aioredis.Redis:
    """The Redis client of a Socket.IO manager (realtime/fanout.py, realtime/publish.py): its pool makes a burst of
    publishes wait for a free connection. python-socketio's own client uses redis-py's default pool, which fails
    a command once 100 connections are in use ("Too many connections"); the manager then drops its client for a
    new one and gives a publish up on a second failure. Past capacity in bench/realtime (refusals and broadcasts
    by the hundred at once) that was a stream of new connections (~2 % of a server's profile); 2,000 concurrent
    publishes took 2.3 s that way against 0.23 s on this pool (all delivered either way, on an idle Redis)."""
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MANAGER_MAX_CONNECTIONS, timeout=20, **options)
    return aioredis.Redis(connection_pool=pool)


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
