"""Overload shedding: a process that cannot keep up refuses new chat work at once instead of queueing it.

Past its capacity a Socket.IO process does not slow down gracefully: every accepted send adds fan-out
work, the event loop falls seconds behind, pings go unanswered, sockets time out and acks never come
(bench/results/realtime.md). So each process watches three signs of falling behind:

- event-loop lag: a probe task sleeps `PROBE_S` and notes how late it wakes. A handler also sees how
  late the probe is *right now*, so a stall is noticed by the first event that runs behind it, not
  only once the probe catches up;
- outgoing queue depth: Engine.IO packets waiting in this process's socket queues (sockets whose
  writer is behind), summed every `QUEUE_EVERY_S`;
- store wait: how long the last sends waited to be stored (queued behind the process's earlier batches,
  for a pooled connection and for the statement: api/chat/service.py's writer).

Each sign is a decaying peak: a new high counts at once, then fades with a time constant of `DECAY_S`, so a
sustained overload keeps the sign up while one stall (a garbage collection, a neighbour on a shared CPU) is
forgotten within a fraction of a second. Past half a threshold the process is
*busy*: typing broadcasts are dropped (the next one refreshes them) and presence broadcasts are held back
until the process is calm again (realtime/handlers.py `_announce`). Past a
threshold it is *overloaded*: new sends are refused with the ack code `overloaded` and a retry hint,
before any database or Redis work, so the refusal costs microseconds and the work already accepted
(and the heartbeats that keep sockets alive) gets the loop. Thresholds: REALTIME_SHED_LAG_MS,
REALTIME_SHED_QUEUE_DEPTH, REALTIME_SHED_DB_WAIT_MS (api/kernel/settings.py).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import math
import random
import time
from collections.abc import Callable
from enum import IntEnum

from api.kernel.settings import get_settings

log = logging.getLogger("filmo.realtime")
PROBE_S = 0.02
REPORT_EVERY_S = 1.0
STALL_MS = 200.0  # a loop stall this long is logged (and a full garbage collection half as long)
QUEUE_EVERY_S = 0.25
DECAY_S = 0.25


class Level(IntEnum):
    NORMAL = 0
    BUSY = 1  # drop typing and presence broadcasts
    OVERLOADED = 2  # refuse new sends too


class _Peak:
    """The highest value seen, fading by a factor e every DECAY_S."""

    def __init__(self) -> None:
        self.value, self.at = 0.0, 0.0

    def note(self, value: float, now: float) -> None:
        if value >= self.get(now):
            self.value, self.at = value, now

    def get(self, now: float) -> float:
        return self.value * math.exp(-(now - self.at) / DECAY_S)


class Monitor:
    """This process's load signs (one per process: the Socket.IO server runs on one event loop)."""

    def __init__(self) -> None:
        self.lag_ms, self.queue_depth, self.db_wait_ms = _Peak(), _Peak(), _Peak()
        self._probe_due: float | None = None  # loop time the probe should wake at
        self.refused = 0  # sends refused since start (for operators and the benchmark's logs)
        self.dropped = 0  # typing broadcasts dropped, presence broadcasts held back

    async def run(self, queued_packets: Callable[[], int]) -> None:
        """The probe: runs for the life of the process."""
        loop = asyncio.get_running_loop()
        gc.callbacks.append(_time_full_collections)
        next_queue_check = next_report = 0.0
        reported = (0, 0)
        while True:
            self._probe_due = loop.time() + PROBE_S
            await asyncio.sleep(PROBE_S)
            now = loop.time()
            lag_ms = max(0.0, now - self._probe_due) * 1000
            self.lag_ms.note(lag_ms, now)
            if lag_ms >= STALL_MS:
                log.warning("event loop stalled %.0f ms", lag_ms)
            if now >= next_queue_check:
                next_queue_check = now + QUEUE_EVERY_S
                self.queue_depth.note(queued_packets(), now)
            if now >= next_report:
                # One line a second while shedding, so operators see it happen and why.
                next_report = now + REPORT_EVERY_S
                if (self.refused, self.dropped) != reported:
                    log.warning("shedding load: %d sends refused, %d typing/presence dropped in the last second; "
                                "signs %s", self.refused - reported[0], self.dropped - reported[1], self.signs())
                    reported = (self.refused, self.dropped)

    def note_db_wait(self, seconds: float) -> None:
        self.db_wait_ms.note(seconds * 1000, asyncio.get_running_loop().time())

    def current_lag_ms(self) -> float:
        now = asyncio.get_running_loop().time()
        late = (now - self._probe_due) * 1000 if self._probe_due is not None else 0.0
        return max(self.lag_ms.get(now), late)

    def level(self) -> Level:
        settings = get_settings()
        now = asyncio.get_running_loop().time()
        load = max(self.current_lag_ms() / settings.realtime_shed_lag_ms,
                   self.queue_depth.get(now) / settings.realtime_shed_queue_depth,
                   self.db_wait_ms.get(now) / settings.realtime_shed_db_wait_ms)
        if load >= 1:
            return Level.OVERLOADED
        return Level.BUSY if load >= 0.5 else Level.NORMAL

    def signs(self) -> dict:
        now = asyncio.get_running_loop().time()
        return {"lag_ms": round(self.current_lag_ms(), 1), "queue_depth": int(self.queue_depth.get(now)),
                "db_wait_ms": round(self.db_wait_ms.get(now), 1)}


_gc_started = 0.0


def _time_full_collections(phase: str, info: dict) -> None:
    """Full (generation 2) collections pause every socket of the process: log the long ones."""
    global _gc_started
    if info.get("generation") != 2:
        return
    if phase == "start":
        _gc_started = time.perf_counter()
    elif (ms := (time.perf_counter() - _gc_started) * 1000) >= STALL_MS / 2:
        log.warning("full garbage collection paused the process %.0f ms (%d objects collected)", ms,
                    info.get("collected", 0))


def retry_after_s() -> float:
    """The retry hint of a refusal: 1-2 s, jittered so the refused clients do not all come back together."""
    return round(1.0 + random.random(), 2)


monitor = Monitor()
