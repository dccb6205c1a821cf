"""Presence in Redis: who is online per project, shared by every API process.

A crashed process never runs its disconnect handlers, so nothing here trusts them alone: every
connection has a last-seen score that its process refreshes each heartbeat, readers ignore scores
older than the expiry, and a sweeper (whichever live process takes the sweep lock) removes expired
people and announces `user_left`.

Keys (prefixed with the queue namespace):
  rt:pu:<project>         ZSET user_id -> last seen      who is online in a project (tabs count once)
  rt:pc:<project>:<user>  ZSET sid -> last seen          that person's connections in the project
  rt:us:<user>            ZSET sid -> last seen          all connections of a person (DM presence, revocation)
  rt:projects             SET project ids that have presence entries (what the sweeper visits)
  rt:sweep                lock so one process sweeps per interval
Each multi-key change is one Lua script, so two processes never interleave half-updates.
"""
from __future__ import annotations

import time

from api.kernel.redis import get_redis, run_script
from api.kernel.settings import get_settings

# Returns 1 when this was the person's last live connection in the project (announce user_left).
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  return redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
"""
# Removes a person whose last heartbeat is older than the cutoff; 1 when this call removed them.
_SWEEP_USER = """
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) < tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
_DROP_IF_EMPTY = """
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
  return 1
end
return 0
"""
# Marks connections present (a join, or every connection of this process in a heartbeat): refreshes
# each person's connection set and, per project, the connection and the person; returns
# [project, user, ...] of people who were not online there (just joined, or swept and back).
# KEYS: projects set, then per connection: rt:us:<user>, then per project: rt:pc:<project>:<user>, rt:pu:<project>
# ARGV: now, cutoff, ttl, then per connection: sid, user, project count, project ids...
_HEARTBEAT = """
local now, cutoff, ttl = ARGV[1], ARGV[2], ARGV[3]
local k, a, back = 2, 4, {}
while a <= #ARGV do
  local sid, user, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  redis.call('ZADD', KEYS[k], now, sid)
  redis.call('PEXPIRE', KEYS[k], ttl)
  k = k + 1
  for i = 1, n do
    local project, pc, pu = ARGV[a], KEYS[k], KEYS[k + 1]
    a, k = a + 1, k + 2
    redis.call('ZREMRANGEBYSCORE', pc, '-inf', cutoff)
    local was = redis.call('ZSCORE', pu, user)
    redis.call('ZADD', pc, now, sid)
    redis.call('PEXPIRE', pc, ttl)
    redis.call('ZADD', pu, now, user)
    redis.call('PEXPIRE', pu, ttl)
    redis.call('SADD', KEYS[1], project)
    if not was then
      back[#back + 1] = project
      back[#back + 1] = user
    end
  end
end
return back
"""
# Connections per _HEARTBEAT call: each call blocks Redis (and so every process's pub/sub
# delivery) while it runs, so it is kept to a few milliseconds.
_HEARTBEAT_CHUNK = 200
# A member was removed: forget them in the project; 1 when they were online there.
_REVOKE = """
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if s and tonumber(s) >= tonumber(ARGV[2]) then return 1 end
return 0
"""


def _prefix() -> str:
    return f"{get_settings().queue_namespace}:rt"


def _k_pu(project_id: str) -> str:
    return f"{_prefix()}:pu:{project_id}"


def _k_pc(project_id: str, user_id: str) -> str:
    return f"{_prefix()}:pc:{project_id}:{user_id}"


def _k_us(user_id: str) -> str:
    return f"{_prefix()}:us:{user_id}"


def _k_projects() -> str:
    return f"{_prefix()}:projects"


def _now() -> float:
    return time.time()


def _cutoff(now: float | None = None) -> float:
    return (now or _now()) - get_settings().presence_expiry_s


def _ttl_ms() -> int:
    # Keys outlive a few expiries so a live heartbeat always finds them; abandoned keys vanish.
    return int(get_settings().presence_expiry_s * 3 * 1000)


async def _run(script: str, keys: list[str], args: list):
    return await run_script(get_redis(), script, keys, args)


async def _eval(script: str, keys: list[str], args: list) -> int:
    return int(await _run(script, keys, args))


async def register_connection(user_id: str, sid: str) -> None:
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(_k_us(user_id), {sid: _now()})
    pipe.pexpire(_k_us(user_id), _ttl_ms())
    await pipe.execute()


async def unregister_connection(user_id: str, sid: str) -> None:
    await get_redis().zrem(_k_us(user_id), sid)


async def join(project_id: str, user_id: str, sid: str) -> bool:
    """Mark this connection present in the project; True when the person just came online there."""
    return bool(await heartbeat([(sid, user_id, [project_id])]))


async def leave(project_id: str, user_id: str, sid: str) -> bool:
    """Remove this connection; True when it was the person's last one in the project."""
    return bool(await _eval(_LEAVE, [_k_pc(project_id, user_id), _k_pu(project_id)], [sid, user_id, _cutoff()]))


async def revoke(project_id: str, user_id: str) -> bool:
    """Forget a removed member in the project; True when they were online there."""
    return bool(await _eval(_REVOKE, [_k_pc(project_id, user_id), _k_pu(project_id)], [user_id, _cutoff()]))


async def online_user_ids(project_id: str) -> list[str]:
    return list(await get_redis().zrangebyscore(_k_pu(project_id), _cutoff(), "+inf"))


async def is_online(user_id: str) -> bool:
    return await get_redis().zcount(_k_us(user_id), _cutoff(), "+inf") > 0


async def online_among(user_ids: list[str]) -> set[str]:
    """Those of these people with a live connection (any process): one pipelined ZCOUNT each, one round trip
    per 1,000 people. Lets a push to thousands of people reach the connected ones first."""
    redis, cutoff, online = get_redis(), _cutoff(), set()
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start:start + 1000]
        pipe = redis.pipeline(transaction=False)
        for user_id in chunk:
            pipe.zcount(_k_us(user_id), cutoff, "+inf")
        online.update(u for u, n in zip(chunk, await pipe.execute()) if n)
    return online


async def connection_ids(user_id: str) -> list[str]:
    """Every socket id the person may hold on any process (stale ones are harmless to address)."""
    return list(await get_redis().zrange(_k_us(user_id), 0, -1))


async def heartbeat(entries: list[tuple[str, str, list[str]]]) -> list[tuple[str, str]]:
    """Refresh (sid, user_id, [project ids]) of this process's live connections.

    Returns (project_id, user_id) pairs whose person had been swept (e.g. this process stalled past
    the expiry) and is online again, so the caller can announce user_joined. A few script calls for
    all connections: per-connection commands cost a busy server a visible stall every heartbeat.
    """
    now = _now()
    back: set[tuple[str, str]] = set()
    for start in range(0, len(entries), _HEARTBEAT_CHUNK):
        keys, args = [_k_projects()], [now, _cutoff(now), _ttl_ms()]
        for sid, user_id, project_ids in entries[start:start + _HEARTBEAT_CHUNK]:
            keys.append(_k_us(user_id))
            args += [sid, user_id, len(project_ids)]
            for project_id in project_ids:
                keys += [_k_pc(project_id, user_id), _k_pu(project_id)]
                args.append(project_id)
        flat = await _run(_HEARTBEAT, keys, args)
        back.update(zip(flat[0::2], flat[1::2]))
    return sorted(back)


async def sweep() -> list[tuple[str, str]]:
    """Remove people whose heartbeats stopped; returns (project_id, user_id) pairs that just left.

    Only one process sweeps per interval (a short Redis lock); each removal is atomic, so a person
    is announced as gone exactly once even if two sweeps overlap.
    """
    settings = get_settings()
    redis = get_redis()
    lock_ms = max(int(settings.presence_heartbeat_s * 1000 * 0.8), 100)
    if not await redis.set(f"{_prefix()}:sweep", "1", nx=True, px=lock_ms):
        return []
    cutoff = _cutoff()
    gone: list[tuple[str, str]] = []
    for project_id in await redis.smembers(_k_projects()):
        stale = await redis.zrangebyscore(_k_pu(project_id), "-inf", f"({cutoff}")
        for user_id in stale:
            if await _eval(_SWEEP_USER, [_k_pu(project_id), _k_pc(project_id, user_id)], [user_id, cutoff]):
                gone.append((project_id, user_id))
        await _eval(_DROP_IF_EMPTY, [_k_pu(project_id), _k_projects()], [project_id])
    return gone
