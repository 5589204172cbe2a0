"""Layered backend: a small in-process LRU in front of Redis or disk, for hot keys.

Reads try the front first; a miss reads the back (with its remaining TTL, one round trip)
and copies the value to the front. Writes and deletions go to both. A front copy lives at
most ``front_ttl`` seconds, which bounds how stale it can be when another process changes
the back store; deletions made through this backend are seen at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from qhub.cache.base import CacheBackend, Entry, Listener
from qhub.cache.memory_backend import MemoryCacheBackend

if TYPE_CHECKING:
    from qhub.config import QHubConfig


class LayeredCacheBackend(CacheBackend):
    """``back`` (shared, persistent) with a ``MemoryCacheBackend`` of ``front_size`` in front."""

    name = "layered"

    def __init__(
        self,
        back: CacheBackend,
        *,
        front_size: int = 256,
        front_ttl: float = 30.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.back = back
        self.front = MemoryCacheBackend(max_size=front_size, eviction="lru", timer=timer)
        self.front_ttl = front_ttl

    @classmethod
    def from_config(
        cls, config: QHubConfig, *, create: bool = True, readonly: bool = False, **options: Any
    ) -> LayeredCacheBackend:
        """``cache.layered_front_size`` memory items in front of Redis when Redis is
        configured (``redis.url``, ``redis.host`` or ``redis.port`` set), else of disk
        (``create``/``readonly`` reach the disk backend)."""
        from qhub.cache.backends import backend_from_config, redis_configured

        back = options.pop("back", None) or backend_from_config(
            config,
            "redis" if redis_configured(config) else "disk",
            create=create,
            readonly=readonly,
        )
        return cls(back, **{"front_size": config.cache.layered_front_size, **options})

    def __repr__(self) -> str:
        return f"LayeredCacheBackend(front={self.front!r}, back={self.back!r})"

    def _front_ttl(self, ttl: float | None) -> float:
        return self.front_ttl if ttl is None else min(ttl, self.front_ttl)

    def _from_back(self, key: str) -> Entry | None:
        entry = self.back.get_entry(key)
        if entry is not None:
            self.front.set(key, entry[0], self._front_ttl(entry[1]))
        return entry

    def get_entry(self, key: str) -> Entry | None:
        hit = self.front.get_entry(key)
        return hit if hit is not None else self._from_back(key)

    def get(self, key: str) -> bytes | None:
        data = self.front.get(key)
        if data is not None:
            return data
        entry = self._from_back(key)
        return None if entry is None else entry[0]

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        self.back.set(key, data, ttl)
        self.front.set(key, data, self._front_ttl(ttl))

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        found = self.front.get_many(wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            from_back = self.back.get_many(missing)
            self.front.set_many(from_back, self.front_ttl)
            found.update(from_back)
        return found

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        self.back.set_many(items, ttl)
        self.front.set_many(items, self._front_ttl(ttl))

    def delete(self, key: str) -> bool:
        in_front = self.front.delete(key)
        return self.back.delete(key) or in_front

    def delete_if(self, key: str, data: bytes) -> bool:
        self.front.delete_if(key, data)
        return self.back.delete_if(key, data)

    def keys(self, pattern: str = "*") -> Iterator[str]:
        return self.back.keys(pattern)

    def delete_pattern(self, pattern: str) -> int:
        removed = self.back.delete_pattern(pattern)
        self.front.delete_pattern(pattern)
        return removed

    def clear(self, prefix: str = "") -> int:
        self.front.clear(prefix)
        return self.back.clear(prefix)

    def count(self, prefix: str = "") -> int:
        return self.back.count(prefix)

    def bytes_stored(self, prefix: str = "") -> int | None:
        return self.back.bytes_stored(prefix)

    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        return self.back.lock(key, timeout)

    def ping(self) -> None:
        self.back.ping()

    def add_listener(self, listener: Listener) -> None:
        self.back.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        self.back.remove_listener(listener)

    def close(self) -> None:
        self.front.clear()
        self.back.close()
