"""Client-side rate limiting: one token bucket per API, shared by every thread.

A caller *reserves* a token under the lock (the bucket may go negative) and sleeps outside
it for as long as its reservation needs, so waiting threads are served first come, first
served and never burst past ``burst`` requests in any window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class TokenBucket:
    """``rate`` requests per second on average, at most ``burst`` at once.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests/s, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()
        self.acquired = 0
        self.waits = 0
        self.wait_seconds = 0.0
        self.max_wait_seconds = 0.0

    def reserve(self) -> float:
        """Take one token; return how many seconds the caller must wait before sending."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.acquired += 1
            if wait > 0:
                self.waits += 1
                self.wait_seconds += wait
                self.max_wait_seconds = max(self.max_wait_seconds, wait)
            return wait

    def acquire(self) -> float:
        """Wait for a token (sleeping outside the lock); return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def stats(self) -> dict[str, Any]:
        """Requests let through, how many had to wait, and for how long."""
        with self._lock:
            return {
                "enabled": True,
                "rate_per_s": self.rate,
                "burst": self.burst,
                "acquired": self.acquired,
                "waits": self.waits,
                "wait_seconds_total": round(self.wait_seconds, 6),
                "max_wait_ms": round(self.max_wait_seconds * 1000, 3),
            }
