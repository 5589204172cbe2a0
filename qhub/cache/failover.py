"""What a manager does when its backend fails: switch to memory, warn once, retry later.

One :class:`BackendState` is shared by a manager and all its namespaced views. On a
:class:`~qhub.exceptions.CacheBackendError` the state switches to an in-memory fallback and
logs a single warning for the outage; while on the fallback it pings the real backend at
most once per ``reconnect_interval`` (by the injectable ``clock``) and switches back when
the ping succeeds. Values written to the fallback during the outage are dropped on
reconnection: the shared backend is the source of truth again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from qhub._redact import redact_text
from qhub.cache.base import CacheBackend
from qhub.cache.memory import MemoryCacheBackend
from qhub.exceptions import CacheBackendError

log = logging.getLogger("qhub.cache")


class BackendState:
    """The primary backend, the fallback, and which of the two is in use."""

    def __init__(
        self,
        primary: CacheBackend,
        *,
        on_error: str,
        reconnect_interval: float,
        clock: Callable[[], float] = time.monotonic,
        fallback_size: int = 1000,
    ) -> None:
        self.primary = primary
        self.current: CacheBackend = primary
        self.degraded = False
        self.on_error = on_error
        self.reconnect_interval = reconnect_interval
        self.clock = clock
        self.fallback_size = fallback_size
        self.fallback: MemoryCacheBackend | None = None
        self.outages = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._last_attempt = 0.0
        self._mutex = threading.Lock()
        self._listeners: list[Callable[[str, str], None]] = []

    def add_listener(self, listener: Callable[[str, str], None]) -> None:
        """Hear evictions/expirations of the primary and of any future fallback."""
        self._listeners.append(listener)
        self.primary.add_listener(listener)

    def backend(self) -> CacheBackend:
        """The backend to use now (tries to reconnect when it is time)."""
        if self.degraded:
            self.maybe_reconnect()
        return self.current

    def fail_over(self, exc: CacheBackendError) -> CacheBackend:
        """Record a primary failure and return the fallback (caller checked ``on_error``)."""
        self.last_error = redact_text(str(exc))
        with self._mutex:
            if self.degraded:
                return self.current
            if self.fallback is None:
                self.fallback = MemoryCacheBackend(max_size=self.fallback_size)
                for listener in self._listeners:
                    self.fallback.add_listener(listener)
            self.degraded = True
            self.outages += 1
            self._last_attempt = self.clock()
            self.current = self.fallback
        log.warning(
            "qhub cache: %s backend failed (%s); using an in-memory cache until it answers "
            "again (checked every %.0f s)",
            self.primary.name,
            self.last_error,
            self.reconnect_interval,
        )
        return self.current

    def maybe_reconnect(self) -> bool:
        """Ping the primary if ``reconnect_interval`` has passed; True when back on it."""
        now = self.clock()
        with self._mutex:
            if not self.degraded or now - self._last_attempt < self.reconnect_interval:
                return not self.degraded
            self._last_attempt = now
        try:
            self.primary.ping()
        except CacheBackendError as exc:
            log.debug("qhub cache: %s still unavailable: %s", self.primary.name, exc)
            return False
        self._switch_back()
        log.info("qhub cache: %s backend is back; left the in-memory fallback", self.primary.name)
        return True

    def _switch_back(self) -> None:
        with self._mutex:
            if self.degraded:
                self.degraded = False
                self.reconnects += 1
                self.current = self.primary
                if self.fallback is not None:
                    self.fallback.clear()

    def close(self) -> None:
        self.primary.close()
        if self.fallback is not None:
            self.fallback.clear()
