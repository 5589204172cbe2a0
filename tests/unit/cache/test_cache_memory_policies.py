"""Memory backend: eviction order per policy, per-item TTL on every policy, thread safety."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from qhub.cache import CacheManager, MemoryCacheBackend
from qhub.exceptions import ConfigError


def manager(policy: str, clock: Any, size: int = 3) -> CacheManager:
    backend = MemoryCacheBackend(max_size=size, eviction=policy, timer=clock)
    return CacheManager(backend, default_ttl=0, on_error="fail")


def present(cache: CacheManager, keys: str) -> str:
    found = cache.get_many(list(keys))
    return "".join(k for k in keys if k in found)


class TestEvictionOrder:
    """Which key goes when a full cache takes one more."""

    def test_lru(self, clock: Any) -> None:
        """LRU drops the least recently read."""
        cache = manager("lru", clock)
        cache.set_many({"a": 1, "b": 2, "c": 3})
        cache.get("a")
        cache.set("d", 4)
        assert present(cache, "abcd") == "acd"
        assert cache.get_stats()["evictions"] == 1

    def test_lfu(self, clock: Any) -> None:
        """LFU drops the least often read."""
        cache = manager("lfu", clock)
        cache.set_many({"a": 1, "b": 2, "c": 3})
        for key in "aabcc":
            cache.get(key)
        cache.set("d", 4)
        assert present(cache, "abcd") == "acd"

    def test_fifo(self, clock: Any) -> None:
        """FIFO drops the oldest write, whatever was read."""
        cache = manager("fifo", clock)
        cache.set_many({"a": 1, "b": 2, "c": 3})
        cache.get("a")
        cache.set("d", 4)
        assert present(cache, "abcd") == "bcd"

    def test_ttl_policy_drops_expired_first(self, clock: Any) -> None:
        """The ttl policy removes expired items before evicting live ones."""
        cache = manager("ttl", clock)
        cache.set("a", 1, ttl=100)
        cache.set("b", 2, ttl=5)
        cache.set("c", 3, ttl=100)
        clock.advance(6)
        cache.set("d", 4, ttl=100)
        assert present(cache, "abcd") == "acd"
        stats = cache.get_stats()
        assert (stats["evictions"], stats["expirations"]) == (0, 1)

    def test_ttl_policy_then_lru(self, clock: Any) -> None:
        """With nothing expired, the ttl policy evicts the least recently used."""
        cache = manager("ttl", clock)
        cache.set_many({"a": 1, "b": 2, "c": 3}, ttl=100)
        cache.get("a")
        cache.set("d", 4, ttl=100)
        assert present(cache, "abcd") == "acd"
        assert cache.get_stats()["evictions"] == 1

    def test_unknown_policy(self) -> None:
        """A bad policy name lists the valid ones."""
        with pytest.raises(ConfigError, match="lru, lfu, fifo, ttl"):
            MemoryCacheBackend(eviction="random")


@pytest.mark.parametrize("policy", ["lru", "lfu", "fifo", "ttl"])
class TestPerItemTTL:
    """Every policy honours each item's own TTL, on an injected clock."""

    def test_items_expire_on_their_own_ttl(self, policy: str, clock: Any) -> None:
        """Each key lives exactly its TTL; ttl=0 never expires; expirations are counted."""
        cache = manager(policy, clock, size=10)
        cache.set("one", 1, ttl=1)
        cache.set("ten", 10, ttl=10)
        cache.set("never", 0, ttl=0)
        clock.advance(1.5)
        assert cache.get("one") is None
        assert cache.get("ten") == 10
        clock.advance(9)
        assert cache.get("ten") is None
        assert cache.get("never") == 0
        cache.backend.purge_expired()  # type: ignore[attr-defined]
        stats = cache.get_stats()
        assert stats["expirations"] == 2
        assert stats["total_size"] == 1

    def test_expired_items_not_counted_in_size(self, policy: str, clock: Any) -> None:
        """total_size and bytes ignore expired items still held by the policy."""
        cache = manager(policy, clock, size=10)
        cache.set("a", "x" * 50, ttl=1)
        cache.set("b", "y", ttl=0)
        clock.advance(2)
        stats = cache.get_stats()
        assert stats["total_size"] == 1
        assert stats["bytes_stored"] < 50


class TestThreadSafety:
    """Many threads on one memory cache."""

    @pytest.mark.parametrize("policy", ["lru", "lfu", "fifo", "ttl"])
    def test_concurrent_use(self, policy: str) -> None:
        """8 threads mixing reads, writes, deletes and globs: no errors, size bounded."""
        cache = CacheManager(MemoryCacheBackend(max_size=50, eviction=policy), on_error="fail")
        failures: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(400):
                    key = f"k{(n * 7 + i) % 120}"
                    cache.set(key, {"n": n, "i": i})
                    cache.get(key)
                    if i % 50 == 0:
                        cache.invalidate_pattern(f"k{n}*")
                        cache.delete(key)
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        stats = cache.get_stats()
        assert stats["total_size"] <= 50
        assert stats["sets"] == 8 * 400
        assert stats["hits"] + stats["misses"] == 8 * 400
