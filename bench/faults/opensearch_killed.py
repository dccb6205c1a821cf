"""Fault 1: OpenSearch killed (SIGKILL) for ~12 s during a write load, then started again.

Writes must all be acknowledged (PostGIS is the source of truth; the outbox waits); once the node is back the
outbox drains and every acknowledged write is in the index with its row's version.
    .venv/bin/python -m bench.faults.opensearch_killed
"""
from __future__ import annotations

import os
import signal

from bench.faults import common


async def body(stack: common.Stack) -> dict:
    stack.api_url = stack.start_api()
    stack.start_worker()
    stack.start_scheduler()

    def inject():
        pid = int((common.DATA / "opensearch.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)

    def restore():
        common.services("up", "opensearch")

    return await common.write_fault(stack, "opensearch_killed", inject, restore)


if __name__ == "__main__":
    common.main("opensearch_killed", body)
