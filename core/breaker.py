"""A circuit breaker: after repeated failures of a dependency, fail at once for a while.

Used where a slow or hung dependency would otherwise hold a request for its whole timeout: search
from the request path (``kb.search``) and handing tasks to the broker (``core.tasks``). Process
local and thread-safe; each process learns the outage from its own calls.

    closed ──failures reach the threshold──> open ──reset seconds pass──> half-open (one call tries)
       ^─────────────────────── a call succeeds ─────────────────────────────┘
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int, reset_seconds) -> None:
        """``reset_seconds`` is a number or a callable returning one (read from settings)."""
        self.name = name
        self.threshold = failures
        self._reset_seconds = reset_seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self.skipped = 0

    @property
    def reset_seconds(self) -> float:
        value = self._reset_seconds
        return float(value() if callable(value) else value)

    def allow(self) -> bool:
        """May a call go through? While open, no (counted in ``skipped``); then one at a time."""
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                self.skipped += 1
                return False
            if self._failures >= self.threshold:  # half-open: let this call try, hold the others
                self._open_until = now + self.reset_seconds
            return True

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def failure(self, reason: object = "") -> None:
        with self._lock:
            self._failures += 1
            if self._failures < self.threshold:
                return
            opening = time.monotonic() >= self._open_until or self._failures == self.threshold
            self._open_until = time.monotonic() + self.reset_seconds
        if opening:
            logger.warning("%s unavailable (%s): failing fast for %.0f s", self.name, reason, self.reset_seconds)

    def success(self) -> None:
        with self._lock:
            was_failing = self._failures >= self.threshold
            skipped, self.skipped = self.skipped, 0
            self._failures, self._open_until = 0, 0.0
        if was_failing:
            logger.info("%s available again (%s calls failed fast meanwhile)", self.name, skipped)

    def reset(self) -> None:
        with self._lock:
            self._failures, self._open_until, self.skipped = 0, 0.0, 0
