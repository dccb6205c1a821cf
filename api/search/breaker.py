"""A per-process circuit breaker around OpenSearch.

After a failure, searches skip OpenSearch for `cooldown_s` and go straight to the PostGIS engine, so
a dead cluster costs one fast failure per process and cooldown, not a timeout per request. After the
cooldown one request probes OpenSearch again (half-open); its success closes the breaker. The state
is deliberately local to the process: it is an optimisation, not shared truth.
"""
from __future__ import annotations

import time


class CircuitBreaker:
    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._open_until = 0.0
        self._probe_started = 0.0

    def allow(self) -> bool:
        """May this request try OpenSearch? While half-open only one probe is let through at a time."""
        now = time.monotonic()
        if self._open_until == 0.0:
            return True
        # A probe that never reported back (cancelled request) expires after another cooldown.
        if now < self._open_until or now - self._probe_started < self.cooldown_s:
            return False
        self._probe_started = now
        return True

    def success(self) -> None:
        self._open_until = 0.0
        self._probe_started = 0.0

    def failure(self) -> None:
        self._open_until = time.monotonic() + self.cooldown_s
        self._probe_started = 0.0

    @property
    def is_open(self) -> bool:
        return self._open_until != 0.0
