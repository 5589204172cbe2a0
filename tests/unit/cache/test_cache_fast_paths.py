"""The cheap hot path: exact lock-free counts, sampled latency, no zlib in process."""

from __future__ import annotations

import threading
from pathlib import Path

from qhub.cache import CacheManager, DiskCacheBackend, MemoryCacheBackend, cache_from_config
from qhub.cache.counters import SAMPLE_EVERY, CacheStats
from qhub.cache.serializer import Serializer, _is_plain
from qhub.config import load_config


def test_counts_stay_exact_under_threads() -> None:
    """Lock-free counters lose nothing when 8 threads hammer one manager."""
    cache = CacheManager(MemoryCacheBackend(max_size=100), default_ttl=0)
    cache.set("hot", {"a": 1})
    cache.reset_stats()
    rounds = 2000

    def work() -> None:
        for i in range(rounds):
            cache.get("hot")
            cache.get(f"missing-{i}")
            cache.set(f"k{i % 50}", i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = cache.get_stats()
    assert (stats["hits"], stats["misses"], stats["sets"]) == (8 * rounds, 8 * rounds, 8 * rounds)


def test_latency_is_sampled_from_the_first_call() -> None:
    """Call 0, SAMPLE_EVERY, 2*SAMPLE_EVERY... are timed; counts include every call."""
    cache = CacheManager(MemoryCacheBackend(), default_ttl=0)
    for i in range(2 * SAMPLE_EVERY + 1):
        cache.set(str(i), i)
        cache.get(str(i))
    raw = cache._stats.raw()
    assert (raw["gets"], raw["set_calls"]) == (3, 3)
    assert (raw["hits"], raw["sets"]) == (2 * SAMPLE_EVERY + 1, 2 * SAMPLE_EVERY + 1)
    assert raw["get_ns"] > 0 and raw["set_ns"] > 0
    cache.get_many(["0", "1"])  # bulk calls are always timed
    assert cache._stats.raw()["gets"] == 4
    stats = cache.get_stats()
    assert stats["mean_get_latency_ms"] > 0 and stats["mean_set_latency_ms"] > 0


def test_reset_and_bulk_counts() -> None:
    stats = CacheStats()
    stats.hit()
    stats.got(3, 2, None)
    stats.add("deletes", 4)
    assert {k: stats.raw()[k] for k in ("hits", "misses", "deletes", "gets")} == {
        "hits": 4, "misses": 2, "deletes": 4, "gets": 0}
    stats.reset()
    assert set(stats.raw().values()) == {0}


def test_memory_skips_zlib_by_default_shared_stores_do_not(tmp_path: Path) -> None:
    big = {"rows": ["same text again"] * 200}
    memory = MemoryCacheBackend()
    CacheManager(memory, namespace="m").set("k", big)
    assert memory.get("m:k")[:4] == b"Q\x01j-"  # type: ignore[index]
    disk = DiskCacheBackend(tmp_path / "c.db")
    CacheManager(disk, namespace="d").set("k", big)
    assert disk.get("d:k")[:4] == b"Q\x01jz"  # type: ignore[index]
    explicit = MemoryCacheBackend()
    CacheManager(explicit, namespace="m", compress_threshold=1024).set("k", big)
    assert explicit.get("m:k")[:4] == b"Q\x01jz"  # type: ignore[index]
    disk.close()


def test_config_default_threshold_is_auto(tmp_path: Path) -> None:
    """An unset cache.compress_threshold means "auto"; a set one is used as given."""
    config = load_config(tmp_path, environ={}, overrides={"cache.backend": "memory"})
    cache = cache_from_config(config)
    cache.set("k", "x" * 5000)
    assert cache.backend.get("qhub:k")[3:4] == b"-"  # type: ignore[index]
    config = load_config(tmp_path, environ={}, overrides={
        "cache.backend": "memory", "cache.compress_threshold": 1024})
    cache = cache_from_config(config)
    cache.set("k", "x" * 5000)
    assert cache.backend.get("qhub:k")[3:4] == b"z"  # type: ignore[index]


def test_plain_check_leaves_keys_and_big_ints_to_orjson() -> None:
    """Values orjson cannot hold exactly still take the tagged path and round-trip."""
    s = Serializer()
    for value in ({1: "a"}, [2**64], {"n": -(2**63) - 1}, [1.5, float("inf")], ("t",),
                  {"__qh__": 1}, [[{"deep": float("nan")}]]):
        data = s.dumps(value)
        assert data[2:3] == b"t", value
        back = s.loads(data)
        assert repr(back) == repr(value)
    assert _is_plain({"a": [1, "x", None, True, {"b": 2.5}]})
    assert s.dumps([2**64 - 1])[2:3] == b"j"
