"""Fault 4: Redis restarted (`services.sh down redis`, ~10 s, `up redis`; no persistence, so every queued
message is gone with it) during a write load.

Writes need only PostGIS: they must all be acknowledged (or, at worst, 503 with Retry-After); queued index
messages vanish with Redis, the outbox rows do not: the relay re-enqueues them, and the same processes heal
their Redis connections (no restart).
    .venv/bin/python -m bench.faults.redis_restarted
"""
from __future__ import annotations

from bench.faults import common


async def body(stack: common.Stack) -> dict:
    stack.api_url = stack.start_api()
    stack.start_worker()
    stack.start_scheduler()
    result = await common.write_fault(stack, "redis_restarted", lambda: common.services("down", "redis"),
                                      lambda: common.services("up", "redis"), fault_for=10.0)
    for key in ("api", "worker", "scheduler"):
        if stack.procs[key].poll() is not None:
            result["failures"].append(f"{key} exited during the outage")
            result["ok"] = False
    return result


if __name__ == "__main__":
    common.main("redis_restarted", body)
