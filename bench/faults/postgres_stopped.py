"""Fault 3: PostgreSQL stopped (`services.sh down postgres`, a fast shutdown) for ~15 s during a write load.

While it is down every write must answer 503 problem+json with Retry-After (never 500, never a hang); the
same API, worker and scheduler processes serve again once it is back (no restart), and every acknowledged write
is in PostGIS and, once the outbox drains, in OpenSearch.
    .venv/bin/python -m bench.faults.postgres_stopped
"""
from __future__ import annotations

from bench.faults import common


async def body(stack: common.Stack) -> dict:
    stack.api_url = stack.start_api()
    stack.start_worker()
    stack.start_scheduler()
    result = await common.write_fault(stack, "postgres_stopped", lambda: common.services("down", "postgres"),
                                      lambda: common.services("up", "postgres"), fault_for=15.0)
    for key in ("api", "worker", "scheduler"):
        if stack.procs[key].poll() is not None:
            result["failures"].append(f"{key} exited during the outage")
            result["ok"] = False
    return result


if __name__ == "__main__":
    common.main("postgres_stopped", body)
