"""What a manager does when its backend fails: switch to memory, warn once, retry later.

One :class:`BackendState` is shared by a manager and all its namespaced views. On a
:class:`~qhub.exceptions.CacheBackendError` the state switches to an in-memory fallback and
logs a single warning for the outage; while on the fallback it pings the real backend at
most once per ``reconnect_interval`` (by the injectable ``clock``) and switches back when
the ping succeeds.

Nothing written during the outage is lost: the fallback journals the keys set or deleted
and the patterns invalidated through it, and on reconnection the state replays that journal
on the primary (invalidated patterns first, then every touched key: its fallback value with
its remaining TTL, or a delete when it is gone) before switching. Last writer wins: a key
written during the outage replaces whatever another process stored under it meanwhile.
If the write-back fails, the state stays degraded and keeps the fallback and the journal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from qhub._redact import redact_text
from qhub.cache.base import CacheBackend, glob_escape
from qhub.cache.memory import MemoryCacheBackend
from qhub.exceptions import CacheBackendError

log = logging.getLogger("qhub.cache")


class Journal:
    """What happened through the fallback: touched keys and invalidated patterns, in order.

    Each entry carries a sequence number so a write-back removes only what it replayed;
    anything journaled while it ran stays for the next one.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._seq = 0
        self.keys: dict[str, int] = {}
        self.patterns: list[tuple[int, str]] = []

    def touch(self, keys: Iterable[str]) -> None:
        with self._mutex:
            for key in keys:
                self._seq += 1
                self.keys[key] = self._seq

    def invalidate(self, pattern: str) -> None:
        with self._mutex:
            self._seq += 1
            self.patterns.append((self._seq, pattern))

    def snapshot(self) -> tuple[int, list[str], list[str]]:
        """(sequence reached, patterns in order, touched keys)."""
        with self._mutex:
            return self._seq, [p for _, p in self.patterns], list(self.keys)

    def forget(self, upto: int) -> None:
        """Drop entries replayed by a write-back that saw sequence ``upto``."""
        with self._mutex:
            self.patterns = [(n, p) for n, p in self.patterns if n > upto]
            self.keys = {k: n for k, n in self.keys.items() if n > upto}

    def __bool__(self) -> bool:
        return bool(self.keys or self.patterns)


class FallbackBackend(MemoryCacheBackend):
    """The in-memory fallback: a memory backend that journals every change made through it."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size=max_size)
        self.journal = Journal()

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        super().set(key, data, ttl)
        self.journal.touch((key,))

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        super().set_many(items, ttl)
        self.journal.touch(items)

    def delete(self, key: str) -> bool:
        self.journal.touch((key,))
        return super().delete(key)

    def delete_pattern(self, pattern: str) -> int:
        self.journal.invalidate(pattern)
        return super().delete_pattern(pattern)

    def clear(self, prefix: str = "") -> int:
        pattern = glob_escape(prefix) + "*"
        self.journal.invalidate(pattern)
        return MemoryCacheBackend.delete_pattern(self, pattern)

    def drop(self) -> None:
        """Forget contents and journal (after a write-back, or on close)."""
        MemoryCacheBackend.clear(self)
        self.journal = Journal()

    def write_back(self, primary: CacheBackend) -> int:
        """Replay the journal on ``primary``; returns keys written or deleted there.

        Raises :class:`CacheBackendError` if the primary fails; the journal then keeps
        every entry not yet confirmed, so a later attempt replays them again.
        """
        upto, patterns, keys = self.journal.snapshot()
        for pattern in patterns:
            primary.delete_pattern(pattern)
        for key in keys:
            entry = self.get_entry(key)
            if entry is None:
                primary.delete(key)
            else:
                primary.set(key, entry[0], entry[1])
        self.journal.forget(upto)
        return len(keys)


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
        self.fallback: FallbackBackend | None = None
        self.outages = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._last_attempt = 0.0
        self._write_back_warned = False
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
                self.fallback = FallbackBackend(self.fallback_size)
                for listener in self._listeners:
                    self.fallback.add_listener(listener)
            self.degraded = True
            self._write_back_warned = False
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
        return self._switch_back()

    def _switch_back(self) -> bool:
        """Write the outage's changes back to the primary, then use it; False if that fails."""
        with self._mutex:
            if not self.degraded:
                return True
            fallback = self.fallback
            try:
                written = fallback.write_back(self.primary) if fallback is not None else 0
            except CacheBackendError as exc:
                self.last_error = redact_text(str(exc))
                log.log(logging.DEBUG if self._write_back_warned else logging.WARNING,
                        "qhub cache: %s answered but writing back the outage's changes "
                        "failed (%s); staying on the in-memory cache",
                        self.primary.name, self.last_error)
                self._write_back_warned = True
                return False
            self.degraded = False
            self.reconnects += 1
            self.current = self.primary
            if fallback is not None:
                # writers that picked the fallback just before the switch: replay them too
                try:
                    if fallback.journal:
                        written += fallback.write_back(self.primary)
                except CacheBackendError as exc:
                    log.warning("qhub cache: late write-back to %s failed: %s",
                                self.primary.name, redact_text(str(exc)))
                fallback.drop()
        log.info("qhub cache: %s backend is back; wrote %d key(s) from the in-memory fallback "
                 "back to it", self.primary.name, written)
        return True

    def close(self) -> None:
        self.primary.close()
        if self.fallback is not None:
            self.fallback.drop()
