"""In-process backend: cachetools' LRU, LFU, FIFO and TLRU caches behind one lock.

Every policy keeps a per-item expiry time next to the bytes. ``eviction="ttl"`` uses
cachetools' ``TLRUCache`` (expired items go first, then the least recently used one); the
other policies check expiry on read. Time comes from ``timer`` so tests use a fake clock.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import cachetools

from qhub.cache.base import CacheBackend, Entry
from qhub.cache.patterns import compile_glob, glob_literal_prefix
from qhub.exceptions import ConfigError

if TYPE_CHECKING:
    from qhub.config import QHubConfig

POLICIES = ("lru", "lfu", "fifo", "ttl")
_INF = float("inf")

_Item = tuple[bytes, float]
"""Stored bytes and the timer value at which they expire (``inf``: never)."""


def _counting(base: type[cachetools.Cache[str, _Item]]) -> type[cachetools.Cache[str, _Item]]:
    """``base`` whose policy evictions call ``owner._evicted(key, item)``."""

    class Counting(base):  # type: ignore[valid-type,misc]
        owner: MemoryCacheBackend

        def popitem(self) -> tuple[str, _Item]:
            key, item = super().popitem()
            self.owner._evicted(key, item)
            return key, item

        def expire(self, time: float | None = None) -> list[tuple[str, _Item]]:
            expired: list[tuple[str, _Item]] = super().expire(time)
            for key, _ in expired:
                self.owner._expired(key)
            return expired

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting


_CLASSES: dict[str, type[cachetools.Cache[str, _Item]]] = {
    "lru": _counting(cachetools.LRUCache),
    "lfu": _counting(cachetools.LFUCache),
    "fifo": _counting(cachetools.FIFOCache),
    "ttl": _counting(cachetools.TLRUCache),
}


def _time_to_use(_key: str, item: _Item, _now: float) -> float:
    return item[1]


class MemoryCacheBackend(CacheBackend):
    """Thread-safe in-memory store with ``max_size`` items and an eviction policy."""

    name = "memory"
    compresses = False

    def __init__(
        self,
        max_size: int = 1000,
        eviction: str = "lru",
        *,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        policy = eviction.lower()
        if policy not in _CLASSES:
            raise ConfigError(
                f"unknown eviction policy {eviction!r}; choose one of: {', '.join(POLICIES)}"
            )
        if max_size < 1:
            raise ConfigError(f"max_size must be at least 1, got {max_size}")
        self.max_size = max_size
        self.eviction = policy
        self.timer = timer
        cls = _CLASSES[policy]
        store: cachetools.Cache[str, _Item] = (
            cls(max_size, ttu=_time_to_use, timer=timer)  # type: ignore[call-arg]
            if policy == "ttl"
            else cls(max_size)
        )
        store.owner = self  # type: ignore[attr-defined]
        self._store = store
        self._mutex = threading.Lock()
        self._key_locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._key_locks_mutex = threading.Lock()
        self.evictions = 0
        self.expirations = 0

    @classmethod
    def from_config(cls, config: QHubConfig, **options: Any) -> MemoryCacheBackend:
        """``cache.max_size`` items evicted by ``cache.eviction``."""
        settings = config.cache
        return cls(**{"max_size": settings.max_size, "eviction": settings.eviction, **options})

    def __repr__(self) -> str:
        return f"MemoryCacheBackend(max_size={self.max_size}, eviction={self.eviction!r})"

    # -- callbacks from the cachetools subclass (called with _mutex held) -----------------
    def _evicted(self, key: str, item: _Item) -> None:
        if item[1] <= self.timer():
            self._expired(key)
        else:
            self.evictions += 1
            if self._listeners:
                self._notify("eviction", key)

    def _expired(self, key: str) -> None:
        self.expirations += 1
        if self._listeners:
            self._notify("expiration", key)

    # -- storage --------------------------------------------------------------------------
    def _live(self, key: str) -> _Item | None:
        """The item under ``key`` if it has not expired (call with ``_mutex`` held)."""
        store = self._store
        try:
            item = store[key]
        except KeyError:
            return None
        if item[1] != _INF and item[1] <= self.timer():
            del store[key]
            self._expired(key)
            return None
        return item

    def get(self, key: str) -> bytes | None:
        # ``_live`` inlined: this is the hot path of every memory-cache lookup
        with self._mutex:
            try:
                data, expires = self._store[key]
            except KeyError:
                return None
            if expires != _INF and expires <= self.timer():
                del self._store[key]
                self._expired(key)
                return None
        return data

    def get_entry(self, key: str) -> Entry | None:
        with self._mutex:
            item = self._live(key)
        if item is None:
            return None
        return item[0], (None if item[1] == _INF else item[1] - self.timer())

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        expires = _INF if ttl is None else self.timer() + ttl
        with self._mutex:
            self._store[key] = (data, expires)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._mutex:
            for key in keys:
                item = self._live(key)
                if item is not None:
                    found[key] = item[0]
        return found

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        expires = _INF if ttl is None else self.timer() + ttl
        with self._mutex:
            store = self._store
            for key, data in items.items():
                store[key] = (data, expires)

    def delete(self, key: str) -> bool:
        with self._mutex:
            return self._store.pop(key, None) is not None

    def delete_if(self, key: str, data: bytes) -> bool:
        with self._mutex:
            item = self._store.get(key)
            if item is None or item[0] != data:
                return False
            del self._store[key]
            return True

    def _raw_items(self) -> list[tuple[str, _Item]]:
        """Every stored item, expired or not, without touching LRU/LFU order (hold _mutex)."""
        store = self._store
        peek = cachetools.Cache.__getitem__
        return [(key, peek(store, key)) for key in list(cachetools.Cache.__iter__(store))]

    def _matching(self, pattern: str) -> list[str]:
        """Live keys matching ``pattern`` (call with ``_mutex`` held)."""
        match = compile_glob(pattern).fullmatch
        prefix = glob_literal_prefix(pattern)
        now = self.timer()
        return [
            key
            for key, item in self._raw_items()
            if key.startswith(prefix)
            and item[1] > now
            and match(key.encode("utf-8", "surrogatepass"))
        ]

    def keys(self, pattern: str = "*") -> Iterator[str]:
        with self._mutex:
            return iter(self._matching(pattern))

    def delete_pattern(self, pattern: str) -> int:
        with self._mutex:
            keys = self._matching(pattern)
            for key in keys:
                del self._store[key]
        return len(keys)

    def clear(self, prefix: str = "") -> int:
        if prefix:
            return super().clear(prefix)
        with self._mutex:
            removed = len(self._store)
            self._store.clear()
        return removed

    def bytes_stored(self, prefix: str = "") -> int | None:
        now = self.timer()
        with self._mutex:
            return sum(
                len(item[0])
                for key, item in self._raw_items()
                if key.startswith(prefix) and item[1] > now
            )

    def purge_expired(self) -> int:
        """Drop every expired item now; returns how many went."""
        now = self.timer()
        with self._mutex:
            if self.eviction == "ttl":
                return len(self._store.expire(now))  # type: ignore[attr-defined]
            dead = [key for key, item in self._raw_items() if item[1] <= now]
            for key in dead:
                del self._store[key]
                self._expired(key)
        return len(dead)

    # -- dogpile lock ---------------------------------------------------------------------
    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        with self._key_locks_mutex:
            key_lock = self._key_locks.get(key)
            if key_lock is None:
                key_lock = self._key_locks[key] = threading.Lock()
        return _hold(key_lock, timeout)


@contextmanager
def _hold(lock: threading.Lock, timeout: float) -> Iterator[bool]:
    acquired = lock.acquire(timeout=timeout)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()
