"""One contract every cache backend honours, run against each real backend.

``CacheContract`` holds the tests; each ``Test<Backend>Contract`` subclass only says how to
build its backend and how time passes for it (a fake clock, or real time for Redis TTLs).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from qhub.cache import (
    CacheManager,
    DiskCacheBackend,
    LayeredCacheBackend,
    MemoryCacheBackend,
    RedisCacheBackend,
)
from qhub.cache.base import CacheBackend
from qhub.exceptions import CorruptValueError, PatternError, SerializationError

ROUND_TRIP_VALUES: list[Any] = [
    "text ✓",
    "",
    0,
    -(2**63),
    2**80,
    3.25,
    float("inf"),
    True,
    None,
    [1, "a", None, [2.5]],
    {"nested": {"list": [1, {"x": None}]}, "empty": {}},
    dt.datetime(2024, 2, 29, 13, 45, 1, 123456),
    dt.datetime(2024, 2, 29, 13, 45, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    dt.date(1999, 12, 31),
    dt.time(23, 59, 58, 1),
    Decimal("12345678901234567890.000100"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\x01\xffbinary",
    (1, (2, "three"), []),
    {1, 2, 3},
    frozenset({"a", "b"}),
    {1: "int key", (1, 2): "tuple key", "s": {3}},
    {"__qh__": "a user key that looks like our tag"},
]


class CacheContract:
    """Behaviour every backend must show through :class:`CacheManager`."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any) -> CacheBackend:
        raise NotImplementedError

    @pytest.fixture
    def cache(self, backend: CacheBackend) -> Any:
        manager = CacheManager(backend, namespace="t", default_ttl=0, on_error="fail")
        yield manager
        manager.close()

    def wait(self, clock: Any, seconds: float) -> None:
        """Let ``seconds`` pass for this backend's TTLs."""
        clock.advance(seconds)

    def test_set_get_delete(self, cache: CacheManager) -> None:
        """A stored value comes back; after delete the default does."""
        assert cache.get("k") is None
        assert cache.get("k", "dflt") == "dflt"
        assert cache.set("k", {"a": 1}) is True
        assert cache.get("k") == {"a": 1}
        assert cache.delete("k") is True
        assert cache.delete("k") is False
        assert cache.get("k", 7) == 7

    @pytest.mark.parametrize("value", ROUND_TRIP_VALUES, ids=lambda v: type(v).__name__)
    def test_round_trip_exact(self, cache: CacheManager, value: Any) -> None:
        """Every supported type comes back equal and of the same type, nested ones too."""
        cache.set("v", value)
        got = cache.get("v")
        assert got == value
        assert type(got) is type(value)
        if isinstance(value, dict):
            assert [type(k) for k in got] == [type(k) for k in value]

    def test_returned_value_is_a_fresh_copy(self, cache: CacheManager) -> None:
        """Mutating what get returned, or what was set, leaves the cached value alone."""
        original = {"users": [{"id": 1}]}
        cache.set("k", original)
        original["users"].append({"id": 2})
        first = cache.get("k")
        first["users"][0]["id"] = 99
        assert cache.get("k") == {"users": [{"id": 1}]}

    def test_unsupported_type_is_an_error(self, cache: CacheManager) -> None:
        """Objects without a codec raise SerializationError (on_error='fail')."""
        with pytest.raises(SerializationError, match="object"):
            cache.set("k", object())

    def test_get_many_set_many(self, cache: CacheManager) -> None:
        """set_many/get_many round-trip; missing keys are left out."""
        items = {f"k{i}": {"i": i, "when": dt.date(2020, 1, 1 + i)} for i in range(20)}
        assert cache.set_many(items) is True
        got = cache.get_many([*items, "absent"])
        assert got == items
        stats = cache.get_stats()
        assert (stats["hits"], stats["misses"], stats["sets"]) == (20, 1, 20)

    def test_namespaces_isolated(self, backend: CacheBackend) -> None:
        """Two managers on one backend never see or clear each other's keys."""
        a = CacheManager(backend, namespace="a", on_error="fail")
        b = CacheManager(backend, namespace="b", on_error="fail")
        a.set("k", "from a")
        b.set("k", "from b")
        assert (a.get("k"), b.get("k")) == ("from a", "from b")
        assert a.clear() == 1
        assert a.get("k") is None
        assert b.get("k") == "from b"
        assert b.get_stats()["total_size"] == 1

    def test_namespaced_view(self, cache: CacheManager) -> None:
        """A view shares the backend under a prefix and keeps its own stats."""
        users = cache.namespaced("users")
        assert cache.namespaced("users") is users
        users.set("1", "ann")
        cache.set("1", "root")
        assert users.get("1") == "ann"
        assert cache.get("1") == "root"
        assert users.get_stats()["total_size"] == 1
        assert users.clear() == 1
        assert cache.get("1") == "root"
        stats = cache.get_stats()
        assert stats["namespaces"]["t:users"]["hits"] == 1
        assert stats["namespaces"]["t"]["hits"] == 2
        assert stats["hits"] == 3

    def test_invalidate_pattern_10000_keys(self, cache: CacheManager) -> None:
        """A glob removes exactly the matching keys out of 10,000 and nothing else."""
        cache.set_many({f"user:{i}": i for i in range(5000)})
        cache.set_many({f"order:{i}": i for i in range(5000)})
        other = cache.namespaced("other")
        other.set("user:1", "kept")
        assert cache.invalidate_pattern("user:*") == 5000
        assert cache.invalidate_pattern("order:1?") == 10
        assert cache.get("user:42") is None
        assert cache.get("order:15") is None
        assert cache.get("order:150") == 150
        assert other.get("user:1") == "kept"
        assert cache.get_stats()["total_size"] == 4990 + 1

    def test_invalidate_pattern_glob_classes(self, cache: CacheManager) -> None:
        """``?``, ``[abc]``, ``[^a]`` and escapes behave like Redis globs."""
        for key in ("a1", "b1", "c1", "a*", "ab"):
            cache.set(key, key)
        assert cache.invalidate_pattern("[ab]1") == 2
        assert cache.invalidate_pattern("a\\*") == 1
        assert cache.invalidate_pattern("[^c]?") == 1
        assert sorted(k for k in ("a1", "b1", "c1", "a*", "ab") if cache.get(k)) == ["c1"]

    def test_invalid_glob_refused_before_the_backend(self, cache: CacheManager,
                                                     backend: CacheBackend) -> None:
        """An invalid glob raises PatternError on the manager and on the bare backend, and
        removes nothing."""
        cache.set("k", 1)
        for pattern in ("[z-a]", "[ab", "x\\"):
            with pytest.raises(PatternError):
                cache.invalidate_pattern(pattern)
            with pytest.raises(PatternError):
                backend.delete_pattern(pattern)
        assert cache.get("k") == 1 and not cache.fallback_active

    def test_bang_is_not_negation(self, cache: CacheManager) -> None:
        """``[!a]`` means "! or a", as in Redis."""
        cache.set_many({"!": 1, "a": 2, "b": 3})
        assert cache.invalidate_pattern("[!a]") == 2
        assert cache.get("b") == 3

    def test_delete_if_compares(self, backend: CacheBackend) -> None:
        """delete_if removes a key only while it holds the given bytes."""
        backend.set("x:k", b"old", None)
        assert backend.delete_if("x:k", b"new") is False
        assert backend.get("x:k") == b"old"
        assert backend.delete_if("x:k", b"old") is True
        assert backend.get("x:k") is None

    def test_damaged_value_is_a_counted_miss_and_removed(self, cache: CacheManager,
                                                         backend: CacheBackend) -> None:
        """Bytes that claim to be a qhub value but do not decode: the default, a miss and
        an error counted, the entry gone (on_error='fail' raises it instead)."""
        backend.set("t:bad", b"Q\x01t-" + b'{"__qh__": 5}', None)
        with pytest.raises(CorruptValueError):
            cache.get("bad")
        assert backend.get("t:bad") is None
        assert cache.stats()["misses"] == 1 and cache.stats()["errors"] == 1
        assert CacheManager.get_stats is CacheManager.stats

    def test_ttl_expiry(self, cache: CacheManager, clock: Any) -> None:
        """A value with a TTL is gone after it; ttl=0 never expires; None uses default_ttl."""
        cache.default_ttl = 100
        cache.set("short", 1, ttl=0.3)
        cache.set("forever", 2, ttl=0)
        cache.set("default", 3)
        assert cache.get("short") == 1
        self.wait(clock, 0.5)
        assert cache.get("short") is None
        assert cache.get("forever") == 2
        assert cache.get("default") == 3

    def test_compression_threshold(self, backend: CacheBackend) -> None:
        """Payloads above the threshold are stored zlib-compressed, others not."""
        cache = CacheManager(backend, namespace="t", on_error="fail", compress_threshold=1024)
        small = "x" * 500
        big = "x" * 5000
        cache.set("small", small)
        cache.set("big", big)
        small_raw = backend.get("t:small")
        big_raw = backend.get("t:big")
        assert small_raw is not None and big_raw is not None
        assert small_raw[3:4] == b"-"
        assert big_raw[3:4] == b"z"
        assert len(big_raw) < 200
        assert (cache.get("small"), cache.get("big")) == (small, big)

    def test_default_compression_follows_the_backend(
        self, cache: CacheManager, backend: CacheBackend
    ) -> None:
        """``compress_threshold="auto"``: 1 KiB for stores that gain from it, none in process."""
        cache.set("big", "x" * 5000)
        raw = backend.get("t:big")
        assert raw is not None
        assert raw[3:4] == (b"z" if backend.compresses else b"-")
        assert cache.get("big") == "x" * 5000

    def test_stats_counts(self, cache: CacheManager) -> None:
        """Hits, misses, sets, deletes and the hit rate are exact."""
        cache.set("a", 1)
        cache.get("a")
        cache.get("a")
        cache.get("b")
        cache.delete("a")
        stats = cache.get_stats()
        assert (stats["hits"], stats["misses"], stats["sets"], stats["deletes"]) == (2, 1, 1, 1)
        assert stats["hit_rate_percent"] == pytest.approx(66.67)
        assert stats["errors"] == 0
        assert stats["mean_get_latency_ms"] > 0
        assert stats["fallback_active"] is False

    def test_bytes_and_size(self, cache: CacheManager) -> None:
        """total_size counts this namespace's items; bytes_stored sums their sizes."""
        cache.set("a", "x" * 100)
        cache.set("b", "y")
        stats = cache.get_stats()
        assert stats["total_size"] == 2
        assert stats["bytes_stored"] >= 100

    def test_get_or_set_threads_compute_once(self, cache: CacheManager) -> None:
        """8 threads missing one key together: compute runs once, all get its value."""
        calls: list[int] = []
        missed = threading.Semaphore(0)
        all_missed = threading.Event()

        def compute() -> dict[str, int]:
            calls.append(1)
            assert all_missed.wait(30)
            return {"answer": 42}

        results: list[Any] = []

        def worker() -> None:
            assert cache.get("dog") is None
            missed.release()
            results.append(cache.get_or_set("dog", compute))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for _ in range(8):
            assert missed.acquire(timeout=30)
        all_missed.set()
        for t in threads:
            t.join(30)
        assert len(calls) == 1
        assert results == [{"answer": 42}] * 8

    def test_get_or_set_exception_caches_nothing(self, cache: CacheManager) -> None:
        """An exception from compute propagates and leaves the key empty."""

        def boom() -> int:
            raise ValueError("no")

        with pytest.raises(ValueError, match="no"):
            cache.get_or_set("k", boom)
        assert cache.get_or_set("k", lambda: 5) == 5
        assert cache.get("k") == 5

    def test_warm_cache(self, cache: CacheManager) -> None:
        """Warming stores each function's value and reports failures without raising."""
        cache.register_warming_function("users", lambda: [{"id": 1}])
        cache.register_warming_function("bad", lambda: 1 / 0)
        assert cache.warm_cache()["functions"] == {}
        cache.enable_warming()
        report = cache.warm_cache()
        assert report["succeeded"] == 1 and report["failed"] == 1
        assert report["functions"]["users"]["ok"] is True
        assert report["functions"]["users"]["seconds"] >= 0
        assert report["functions"]["bad"]["error"].startswith("ZeroDivisionError")
        assert cache.get("users") == [{"id": 1}]


class TestMemoryContract(CacheContract):
    """The contract on the in-process cachetools backend."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any) -> CacheBackend:
        return MemoryCacheBackend(max_size=20_000, timer=clock)

    def test_no_compression_by_default(self, cache: CacheManager, backend: CacheBackend) -> None:
        """In process, zlib only costs time: by default big values stay raw (same header)."""
        big = "x" * 5000
        cache.set("big", big)
        raw = backend.get("t:big")
        assert raw is not None and raw[:4] == b"Q\x01j-" and len(raw) > 5000
        assert cache.get("big") == big


class TestDiskContract(CacheContract):
    """The contract on the SQLite backend."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any) -> CacheBackend:
        return DiskCacheBackend(tmp_path / "cache.db", clock=clock)


class TestLayeredDiskContract(CacheContract):
    """The contract on memory in front of SQLite."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any) -> CacheBackend:
        return LayeredCacheBackend(DiskCacheBackend(tmp_path / "c.db", clock=clock), timer=clock)


@pytest.mark.redis
class TestRedisContract(CacheContract):
    """The contract on a real redis-server started for each test."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any, redis_server: Any) -> CacheBackend:
        return RedisCacheBackend(url=redis_server.url)

    def wait(self, clock: Any, seconds: float) -> None:
        time.sleep(seconds)  # Redis expires keys on its own clock

    def test_native_ttl(self, cache: CacheManager, redis_server: Any) -> None:
        """TTLs are Redis PX expiries, visible to any client."""
        import redis

        cache.set("k", 1, ttl=30)
        cache.set("forever", 1, ttl=0)
        client = redis.Redis.from_url(redis_server.url)
        assert 0 < client.pttl("t:k") <= 30_000
        assert client.pttl("t:forever") == -1


@pytest.mark.redis
class TestLayeredRedisContract(TestRedisContract):
    """The contract on memory in front of Redis."""

    @pytest.fixture
    def backend(self, tmp_path: Path, clock: Any, redis_server: Any) -> CacheBackend:
        return LayeredCacheBackend(RedisCacheBackend(url=redis_server.url))
