"""Waiting for something that happens in another process or task."""
from __future__ import annotations

import asyncio
import time


async def eventually(check, timeout: float = 10.0, interval: float = 0.1):
    """Poll an async or sync `check` until it returns a truthy value (or raise its last AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    if last:
        raise last
    raise AssertionError(f"condition not met within {timeout}s")
