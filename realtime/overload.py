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
  for a pooled connection and for the statement: api/chat/service.py's writer);
- delivery age: how late this process's own broadcasts reach its sockets, from its publish (a stamp in the
  pub/sub message, realtime/publish.py, on this process's monotonic clock) to the local fan-out
  (realtime/fanout.py): the age of the backlog in front of them, wherever it waited (Redis, the
  subscriber's socket, this loop).

None of these sees a backlog that builds *after* the server wrote its frames: in a client that reads too
slowly, or in kernel socket buffers (over loopback a client's unread bytes sit in its own receive buffer,
not in the server's write buffer). So there is also an admission cap, REALTIME_MAX_SENDS_PER_S: a token
bucket of sends per second per process (burst: `BURST_S` of the rate), set from the measured capacity
(realtime/README.md, "Overload"); a send past it is refused like any other overloaded send. In
bench/realtime at 2x capacity the three older signs alone admitted 1.3-1.6x capacity and answered 10-24 % of
sends within 1 s; with the delivery-age sign 99.7 %; with the cap at 0.8x capacity / processes as well, 100 %
(slowest 0.56-0.74 s), nothing lost, no disconnect (bench/results/realtime.md). A refusal costs microseconds
here, before any database or Redis work.

Each sign is a decaying peak: a new high counts at once, then fades with a time constant of `DECAY_S`, so a
sustained overload keeps the sign up while one stall (a garbage collection, a neighbour on a shared CPU) is
forgotten within a fraction of a second. Past half a threshold the process is
*busy*: typing broadcasts are dropped (the next one refreshes them) and presence broadcasts are held back
until the process is calm again (realtime/handlers.py `_announce`). Past a
threshold it is *overloaded*: new sends are refused with the ack code `overloaded` and a retry hint,
before any database or Redis work, so the refusal costs microseconds and the work already accepted
(and the heartbeats that keep sockets alive) gets the loop. Thresholds: REALTIME_SHED_LAG_MS,
REALTIME_SHED_QUEUE_DEPTH, REALTIME_SHED_DB_WAIT_MS, REALTIME_SHED_DELIVERY_AGE_MS (api/kernel/settings.py).
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
CAP_BUSY_S = 1.0  # after the cap refused a send the process counts as busy this long
BURST_S = 0.25  # the admission bucket holds this many seconds of its rate (a burst of sends is not refused)


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


class SendBucket:
    """A token bucket of sends per second: refills at `rate`, holds at most `BURST_S` of it (at least one)."""

    def __init__(self) -> None:
        self.tokens, self.at = 0.0, None

    def take(self, rate: float, now: float) -> bool:
        if rate <= 0:
            return True
        burst = max(1.0, rate * BURST_S)
        self.tokens = burst if self.at is None else min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Monitor:
    """This process's load signs (one per process: the Socket.IO server runs on one event loop)."""

    def __init__(self) -> None:
        self.lag_ms, self.queue_depth, self.db_wait_ms = _Peak(), _Peak(), _Peak()
        self.delivery_age_ms = _Peak()
        self.sends = SendBucket()
        self._probe_due: float | None = None  # loop time the probe should wake at
        self.refused = 0  # sends refused since start (for operators and the benchmark's logs)
        self.refused_over_cap = 0  # of which by the admission cap (REALTIME_MAX_SENDS_PER_S)
        self._over_cap_at = -math.inf  # loop time of the last send the cap refused
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

    def note_delivery_age(self, seconds: float) -> None:
        self.delivery_age_ms.note(max(0.0, seconds) * 1000, asyncio.get_running_loop().time())

    def admit_send(self) -> bool:
        """May this process take one more send? No when it is overloaded or past its admission cap (a refusal
        takes no token, so what the cap admits is what gets stored)."""
        if self.level() is Level.OVERLOADED:
            self.refused += 1
            return False
        if not self.sends.take(get_settings().realtime_max_sends_per_s, asyncio.get_running_loop().time()):
            self.refused += 1
            self.refused_over_cap += 1
            self._over_cap_at = asyncio.get_running_loop().time()
            return False
        return True

    def current_lag_ms(self) -> float:
        now = asyncio.get_running_loop().time()
        late = (now - self._probe_due) * 1000 if self._probe_due is not None else 0.0
        return max(self.lag_ms.get(now), late)

    def level(self) -> Level:
        settings = get_settings()
        now = asyncio.get_running_loop().time()
        load = max(self.current_lag_ms() / settings.realtime_shed_lag_ms,
                   self.queue_depth.get(now) / settings.realtime_shed_queue_depth,
                   self.db_wait_ms.get(now) / settings.realtime_shed_db_wait_ms,
                   self.delivery_age_ms.get(now) / settings.realtime_shed_delivery_age_ms)
        if load >= 1:
            return Level.OVERLOADED
        # A process at its admission cap is busy: typing and presence go before any more sends are refused.
        return Level.BUSY if load >= 0.5 or now - self._over_cap_at < CAP_BUSY_S else Level.NORMAL

    def signs(self) -> dict:
        now = asyncio.get_running_loop().time()
        return {"lag_ms": round(self.current_lag_ms(), 1), "queue_depth": int(self.queue_depth.get(now)),
                "db_wait_ms": round(self.db_wait_ms.get(now), 1),
                "delivery_age_ms": round(self.delivery_age_ms.get(now), 1), "refused_over_cap": self.refused_over_cap}


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
