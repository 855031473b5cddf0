"""Circuit breaker guarding the Redis connection of the background flusher."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures, allows one trial after ``cooldown_s``.

    Only the background thread changes it; endpoints read a snapshot.
    """

    def __init__(self, *, threshold: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state = CLOSED
        self.consecutive_failures = 0
        self.opened_count = 0
        self.opened_at: float | None = None
        self.last_error: str | None = None
        self.last_success_at: float | None = None

    def allow(self) -> bool:
        """Whether an attempt may be made now (moves open -> half-open after the cooldown)."""
        if self.state == OPEN and self.opened_at is not None:
            if self.clock() - self.opened_at >= self.cooldown_s:
                self.state = HALF_OPEN
        return self.state != OPEN

    def success(self) -> None:
        """Record a successful attempt: the breaker closes."""
        self.state = CLOSED
        self.consecutive_failures = 0
        self.last_success_at = time.time()

    def failure(self, error: BaseException) -> None:
        """Record a failed attempt; the error's type is kept, never its text (it may hold a URL)."""
        self.consecutive_failures += 1
        self.last_error = type(error).__name__
        if self.state == HALF_OPEN or self.consecutive_failures >= self.threshold:
            if self.state != OPEN:
                self.opened_count += 1
            self.state = OPEN
            self.opened_at = self.clock()

    def as_dict(self) -> dict[str, Any]:
        """JSON snapshot for ``/metrics/ingestion``."""
        return {"state": self.state, "consecutive_failures": self.consecutive_failures,
                "times_opened": self.opened_count, "last_error": self.last_error,
                "last_success_at": self.last_success_at}
