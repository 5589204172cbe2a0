"""Failover in one place: a backend wrapper that switches to memory when the real one fails.

:class:`FailoverBackend` wraps the configured (primary) backend and is what a
:class:`~qhub.cache.CacheManager` and all its namespaced views talk to. Every call goes
through one routine, :meth:`FailoverBackend._call`: it runs the operation on the backend in
use; on a :class:`~qhub.exceptions.CacheBackendError` it counts the failure and either raises
it (``fail=True``, what ``on_error="fail"`` asks for) or switches to an in-memory fallback with
one warning for the outage and runs the operation there. While on the fallback it pings the
primary at most once per ``reconnect_interval`` (by the injectable ``clock``) and switches
back when it answers.

Nothing written during an outage is lost silently: the fallback journals the keys set or
deleted and the patterns invalidated through it, and on reconnection the journal is replayed
on the primary (patterns first, then every touched key: its fallback value with its
remaining TTL, or a delete when it is gone) before switching back. Last writer wins. If the
replay fails, the wrapper stays on the fallback and keeps the journal. :meth:`close` tries
once more, whatever the interval, within ``flush_timeout`` seconds (the primary may have
come back just before the end of the run); what still cannot be saved is named in one
warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TypeVar

from qhub._redact import redact_text
from qhub._warn import warn
from qhub.cache.base import CacheBackend, Entry, Listener
from qhub.cache.memory_backend import MemoryCacheBackend
from qhub.cache.patterns import glob_escape
from qhub.exceptions import CacheBackendError

log = logging.getLogger("qhub.cache")
T = TypeVar("T")


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

    def __len__(self) -> int:
        return len(self.keys) + len(self.patterns)


class FallbackBackend(MemoryCacheBackend):
    """The in-memory fallback: a memory backend that journals every change made through it."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size=max_size)
        self.journal = Journal()
        self.overflowed = 0
        """Values written during the outage that were evicted (the fallback was full)."""

    def _evicted(self, key: str, item: tuple[bytes, float]) -> None:
        if item[1] > self.timer():
            self.overflowed += 1
        super()._evicted(key, item)

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        super().set(key, data, ttl)
        self.journal.touch((key,))

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        super().set_many(items, ttl)
        self.journal.touch(items)

    def delete(self, key: str) -> bool:
        self.journal.touch((key,))
        return super().delete(key)

    def delete_if(self, key: str, data: bytes) -> bool:
        removed = super().delete_if(key, data)
        if removed:
            self.journal.touch((key,))
        return removed

    def delete_pattern(self, pattern: str) -> int:
        removed = super().delete_pattern(pattern)  # an invalid pattern raises first
        self.journal.invalidate(pattern)
        return removed

    def clear(self, prefix: str = "") -> int:
        pattern = glob_escape(prefix) + "*"
        self.journal.invalidate(pattern)
        return MemoryCacheBackend.delete_pattern(self, pattern)

    def drop(self) -> None:
        """Forget contents and journal (after a write-back, or on close)."""
        MemoryCacheBackend.clear(self)
        self.journal = Journal()
        self.overflowed = 0

    def write_back(self, primary: CacheBackend, deadline: float | None = None) -> int:
        """Replay the journal on ``primary``; returns keys written or deleted there.

        Raises :class:`CacheBackendError` if the primary fails or ``deadline`` (a
        ``time.monotonic()`` value) passes; the journal then keeps every entry not yet
        confirmed, so a later attempt replays them again.
        """
        upto, patterns, keys = self.journal.snapshot()
        for pattern in patterns:
            _check(deadline)
            primary.delete_pattern(pattern)
        for key in keys:
            _check(deadline)
            entry = self.get_entry(key)
            if entry is None:
                primary.delete(key)
            else:
                primary.set(key, entry[0], entry[1])
        self.journal.forget(upto)
        return len(keys)


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise CacheBackendError("ran out of time (cache.flush_timeout)")


class FailoverBackend(CacheBackend):
    """``primary``, or an in-memory fallback while ``primary`` fails (see the module doc)."""

    def __init__(
        self,
        primary: CacheBackend,
        *,
        fail: bool = False,
        reconnect_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        fallback_size: int = 1000,
        flush_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.primary = primary
        self.current: CacheBackend = primary
        self.name = primary.name
        self.compresses = primary.compresses
        self.degraded = False
        self.fail = fail
        self.reconnect_interval = reconnect_interval
        self.clock = clock
        self.fallback_size = fallback_size
        self.flush_timeout = flush_timeout
        self.fallback: FallbackBackend | None = None
        self.errors = 0
        self.outages = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._last_attempt = 0.0
        self._write_back_warned = False
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return repr(self.primary)

    # -- the one failover routine ---------------------------------------------------------
    def _call(self, op: Callable[[CacheBackend], T]) -> T:
        """``op`` on the backend in use; on a backend failure, raise or retry on the fallback."""
        backend = self._reconnecting() if self.degraded else self.current
        try:
            return op(backend)
        except CacheBackendError as exc:
            return op(self._failed(exc))

    def _failed(self, exc: CacheBackendError) -> CacheBackend:
        """Count a failure; raise it (``fail``) or return the fallback, warning once per outage."""
        self.errors += 1
        self.last_error = redact_text(str(exc))
        if self.fail:
            raise exc
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
        warn(
            f"cache: {self.primary.name} backend failed ({self.last_error}); using an "
            f"in-memory cache until it answers again (checked every "
            f"{self.reconnect_interval:g} s)"
        )
        return self.current

    def _reconnecting(self) -> CacheBackend:
        """The backend to use while degraded: the primary again once it answers."""
        now = self.clock()
        with self._mutex:
            due = self.degraded and now - self._last_attempt >= self.reconnect_interval
            if due:
                self._last_attempt = now
        if due:
            try:
                self.primary.ping()
            except CacheBackendError as exc:
                log.debug("qhub cache: %s still unavailable: %s", self.primary.name, exc)
            else:
                self._switch_back(None)
        return self.current

    def _switch_back(self, deadline: float | None) -> bool:
        """Write the outage's changes back to the primary, then use it; False if that fails."""
        with self._mutex:
            if not self.degraded:
                return True
            fallback = self.fallback
            try:
                written = fallback.write_back(self.primary, deadline) if fallback else 0
            except CacheBackendError as exc:
                self.last_error = redact_text(str(exc))
                if not self._write_back_warned and deadline is None:
                    warn(
                        f"cache: {self.primary.name} answered but writing back the outage's "
                        f"changes failed ({self.last_error}); staying on the in-memory cache"
                    )
                self._write_back_warned = True
                return False
            self.degraded = False
            self.reconnects += 1
            self.current = self.primary
            if fallback is not None and fallback.overflowed:
                warn(
                    f"cache: {fallback.overflowed} value(s) written while the "
                    f"{self.primary.name} backend was unavailable did not fit in the "
                    f"in-memory fallback ({self.fallback_size} items, cache.max_size) and "
                    "are lost; the rest were written back"
                )
            if fallback is not None:
                # writers that picked the fallback just before the switch: replay them too
                try:
                    if fallback.journal:
                        written += fallback.write_back(self.primary, deadline)
                except CacheBackendError as exc:
                    warn(
                        f"cache: late write-back to {self.primary.name} failed: "
                        f"{redact_text(str(exc))}"
                    )
                fallback.drop()
        log.info("qhub cache: %s backend is back; wrote %d key(s) from the in-memory fallback "
                 "back to it", self.primary.name, written)
        return True

    def flush(self, timeout: float | None = None) -> int:
        """Save what the outage owes the primary now, within ``timeout`` seconds.

        Returns how many changes are still unsaved (0 when nothing was owed or all were
        saved). Does not warn; :meth:`close` does.
        """
        fallback = self.fallback
        if not self.degraded or fallback is None or not fallback.journal:
            return 0
        limit = self.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            self.primary.ping()
        except CacheBackendError as exc:
            self.last_error = redact_text(str(exc))
            return len(fallback.journal)
        if self._switch_back(deadline):
            return 0
        return len(fallback.journal)

    # -- CacheBackend, every method through _call -------------------------------------------
    # get and set are _call written out: they run on every cache lookup and store, and the
    # lambda and extra frame cost about a tenth of a memory-backend hit (bench/cache.py).
    def get(self, key: str) -> bytes | None:
        backend = self._reconnecting() if self.degraded else self.current
        try:
            return backend.get(key)
        except CacheBackendError as exc:
            return self._failed(exc).get(key)

    def get_entry(self, key: str) -> Entry | None:
        return self._call(lambda b: b.get_entry(key))

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        backend = self._reconnecting() if self.degraded else self.current
        try:
            backend.set(key, data, ttl)
        except CacheBackendError as exc:
            self._failed(exc).set(key, data, ttl)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        return self._call(lambda b: b.get_many(wanted))

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        self._call(lambda b: b.set_many(items, ttl))

    def delete(self, key: str) -> bool:
        return self._call(lambda b: b.delete(key))

    def delete_if(self, key: str, data: bytes) -> bool:
        return self._call(lambda b: b.delete_if(key, data))

    def keys(self, pattern: str = "*") -> Iterator[str]:
        return self._call(lambda b: b.keys(pattern))

    def delete_pattern(self, pattern: str) -> int:
        return self._call(lambda b: b.delete_pattern(pattern))

    def clear(self, prefix: str = "") -> int:
        return self._call(lambda b: b.clear(prefix))

    def count(self, prefix: str = "") -> int:
        return self._call(lambda b: b.count(prefix))

    def bytes_stored(self, prefix: str = "") -> int | None:
        return self._call(lambda b: b.bytes_stored(prefix))

    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        return self._hold(key, timeout)

    @contextmanager
    def _hold(self, key: str, timeout: float) -> Iterator[bool]:
        # a Redis lock fails when entered, not when made: enter it inside _call
        with ExitStack() as stack:
            yield self._call(lambda b: stack.enter_context(b.lock(key, timeout)))

    def ping(self) -> None:
        self.primary.ping()

    def add_listener(self, listener: Listener) -> None:
        """Hear evictions/expirations of the primary and of any future fallback."""
        super().add_listener(listener)
        self.primary.add_listener(listener)
        if self.fallback is not None:
            self.fallback.add_listener(listener)

    def close(self) -> None:
        """Save what an outage owes the primary (bounded), then release it."""
        try:
            unsaved = self.flush()
            if unsaved:
                warn(
                    f"cache: {unsaved} change(s) made while the {self.primary.name} backend was "
                    f"unavailable could not be saved to it ({self.last_error}); they are lost"
                )
        finally:
            self.primary.close()
            if self.fallback is not None:
                self.fallback.drop()
