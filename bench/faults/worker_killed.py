"""Fault 2: the indexer worker killed (SIGKILL, its whole process group) mid-batch, a new one started ~10 s later.

Messages the dead worker held are lost with it; the outbox rows are not: the relay re-enqueues them and every
acknowledged write reaches the index with its row's version.
    .venv/bin/python -m bench.faults.worker_killed
"""
from __future__ import annotations

from bench.faults import common


async def body(stack: common.Stack) -> dict:
    stack.api_url = stack.start_api()
    stack.start_worker()
    stack.start_scheduler()
    return await common.write_fault(stack, "worker_killed", lambda: stack.kill("worker"), stack.start_worker,
                                    fault_for=10.0)


if __name__ == "__main__":
    common.main("worker_killed", body)
