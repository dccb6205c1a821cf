"""Fixed-window rate limits and cooldowns in Redis, shared by every API process.

    await hit("login:ip:" + host, limit=50, window_s=900)   # raises Problem 429 with Retry-After

Keys live under `rl:`; a window starts at the first hit and its key expires with it, so nothing
needs cleaning up. If Redis is unreachable the request is refused (503) rather than let through
unlimited: these limits guard passwords and one-time codes.
"""
from __future__ import annotations

import hashlib
import logging

from redis.exceptions import RedisError

from api.kernel.problems import Problem
from api.kernel.redis import get_redis, run_script

log = logging.getLogger("filmo.ratelimit")
PREFIX = "rl:"


# One round trip per hit. SET NX EX first: the counter always carries
# its expiry. Returns {count in this window, seconds left in it}.
_HIT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return {redis.call('INCR', KEYS[1]), redis.call('TTL', KEYS[1])}
"""


# The same rule for several hits in one round trip (the chat's writer counts a batch of messages at once);
# a key may appear more than once and is counted once per appearance, in order. Returns {count, ttl} per key.
_HIT_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  out[2 * i - 1] = redis.call('INCR', key)
  out[2 * i] = redis.call('TTL', key)
end
return out
"""


def key_part(value: str) -> str:
    """A short stable digest, so personal data (emails) never appears in Redis key names."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


def too_many(retry_after: int, detail: str = "Too many requests; try again later") -> Problem:
    retry_after = max(1, int(retry_after))
    return Problem(429, f"{detail} (retry after {retry_after} s)", headers={"Retry-After": str(retry_after)},
                   retry_after=retry_after)


def _unavailable() -> Problem:
    return Problem(503, "The service is temporarily unavailable; try again shortly", headers={"Retry-After": "5"})


async def hit(key: str, limit: int, window_s: int, *, detail: str | None = None) -> int:
    """Count one request against `key`; raise 429 once more than `limit` fall in the current window.

    Returns the number of hits in the window so far (including this one).
    """
    try:
        count, ttl = await run_script(get_redis(), _HIT, [PREFIX + key], [window_s])
    except RedisError:
        log.error("rate limit store unavailable", exc_info=True)
        raise _unavailable() from None
    if count > limit:
        raise too_many(ttl if ttl and ttl > 0 else window_s, detail or "Too many requests; try again later")
    return int(count)


async def hit_many(keys: list[str], limit: int, window_s: int, *, detail: str | None = None) -> list[Problem | None]:
    """`hit` for several requests in one Redis round trip: per key, in order, None when it is allowed, or the 429
    it gets. Raises 503 (for all of them) when Redis is unreachable."""
    if not keys:
        return []
    try:
        flat = await run_script(get_redis(), _HIT_MANY, [PREFIX + key for key in keys], [window_s])
    except RedisError:
        log.error("rate limit store unavailable", exc_info=True)
        raise _unavailable() from None
    verdicts: list[Problem | None] = []
    for count, ttl in zip(flat[0::2], flat[1::2]):
        verdicts.append(None if count <= limit else
                        too_many(ttl if ttl and ttl > 0 else window_s, detail or "Too many requests; try again later"))
    return verdicts


async def cooldown(key: str, seconds: int, *, detail: str | None = None) -> None:
    """Allow one action per `seconds` for `key`; raise 429 with the remaining wait otherwise."""
    redis = get_redis()
    full_key = PREFIX + "cd:" + key
    try:
        if await redis.set(full_key, 1, ex=seconds, nx=True):
            return
        ttl = await redis.ttl(full_key)
    except RedisError:
        log.error("rate limit store unavailable", exc_info=True)
        raise _unavailable() from None
    raise too_many(ttl if ttl and ttl > 0 else seconds, detail or "Please wait before trying again")


async def clear(key: str, *, is_cooldown: bool = False) -> None:
    """Forget a counter or cooldown (e.g. when the action it guarded failed on our side)."""
    try:
        await get_redis().delete(PREFIX + ("cd:" if is_cooldown else "") + key)
    except RedisError:
        log.warning("could not clear rate limit key", exc_info=True)
