"""Caching: hits without Faker, copies on the way out, keys that cannot go stale, dogpile."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from qhub.cache import CacheManager, DiskCacheBackend
from qhub.data import TestData
from qhub.data import recipe as recipe_module


class TestHitsAndMisses:
    """A second request for the same recipe is a hit that makes no Faker call."""

    def test_second_call_is_a_hit_without_faker(self, memory_cache: CacheManager) -> None:
        first = TestData(memory_cache, seed=1)
        generated = first.users(50)
        metrics = first.get_cache_performance_metrics()
        assert metrics["misses"] == 1 and metrics["hits"] == 0
        assert metrics["records_generated"] == 50
        assert metrics["faker_calls"] > 0

        second = TestData(memory_cache, seed=1)
        assert second.users(50) == generated
        metrics = second.get_cache_performance_metrics()
        assert metrics == {**metrics, "hits": 1, "misses": 0, "hit_rate_percent": 100.0,
                           "records_generated": 0, "records_served": 50, "faker_calls": 0,
                           "faker_instances": 0, "data_generation_time": 0.0}
        assert metrics["data_retrieval_time"] > 0

    def test_hit_rate(self, memory_cache: CacheManager) -> None:
        data = TestData(memory_cache)
        for _ in range(4):
            data.products(3)
        metrics = data.get_cache_performance_metrics()
        assert (metrics["hits"], metrics["misses"], metrics["hit_rate_percent"]) == (3, 1, 75.0)

    def test_disk_cache_survives_a_new_manager(self, disk_path: Path) -> None:
        root = CacheManager(DiskCacheBackend(disk_path))
        generated = TestData(root.namespaced("data")).companies(20)
        root.close()
        reopened = CacheManager(DiskCacheBackend(disk_path))
        data = TestData(reopened.namespaced("data"))
        assert data.companies(20) == generated
        assert data.get_cache_performance_metrics()["faker_calls"] == 0
        reopened.close()

    def test_orders_hit_skips_related_lookups(self, memory_cache: CacheManager) -> None:
        TestData(memory_cache).orders(5)
        warm = TestData(memory_cache)
        warm.orders(5)
        assert warm.get_cache_performance_metrics()["hits"] == 1


class TestCopies:
    """Mutating returned data never reaches the cache or the next caller."""

    @pytest.mark.parametrize("warm", [False, True], ids=["miss", "hit"])
    def test_mutation_does_not_leak(self, memory_cache: CacheManager, warm: bool) -> None:
        data = TestData(memory_cache)
        if warm:
            data.users(3)
        mine = data.users(3, key="shared")
        pristine = TestData(None).users(3)
        mine[0]["email"] = "mutated@example.com"
        mine[1].clear()
        del mine[2]
        assert data.users(3) == pristine
        assert data.get("shared") == pristine

    def test_build_records_are_independent(self, memory_cache: CacheManager) -> None:
        data = TestData(memory_cache)
        first = data.build("order")
        first["items"].clear()
        assert TestData(memory_cache).build("order")["items"]


class TestKeys:
    """Every input of a dataset is part of its key."""

    def test_inputs_change_the_key(self) -> None:
        base = TestData(None, seed=1).recipe("user", 10).key
        assert TestData(None, seed=2).recipe("user", 10).key != base
        assert TestData(None, seed=1, locale="fr_FR").recipe("user", 10).key != base
        assert TestData(None, seed=1).recipe("user", 11).key != base
        assert TestData(None, seed=1).recipe("product", 10).key != base
        assert TestData(None, seed=1).recipe("user", 10).key == base

    def test_related_counts_change_the_order_key(self) -> None:
        data = TestData(None)
        assert data.recipe("order", 5, users=3).key != data.recipe("order", 5, users=4).key

    def test_generator_version_regenerates(
        self, memory_cache: CacheManager, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        TestData(memory_cache).users(5)
        monkeypatch.setattr(recipe_module, "GENERATOR_VERSION", "999")
        upgraded = TestData(memory_cache)
        upgraded.users(5)
        assert upgraded.get_cache_performance_metrics()["misses"] == 1

    def test_key_is_stable_text(self) -> None:
        key = TestData(None, seed=1).recipe("user", 10).key
        assert key.startswith("user:10:") and len(key) == len("user:10:") + 32


def test_ttl_zero_means_forever(memory_cache: CacheManager) -> None:
    TestData(memory_cache, ttl=0).users(2)
    key = TestData(None).recipe("user", 2).key
    remaining = memory_cache.backend.get_entry(f"{memory_cache.namespace}:{key}")
    assert remaining is not None and remaining[1] is None


def test_threads_share_one_generation(disk_cache: CacheManager) -> None:
    """Eight threads asking for the same dataset at once: Faker runs for one of them."""
    barrier = threading.Barrier(8)
    results: list[list[dict[str, object]]] = []
    instances: list[TestData] = []

    def worker() -> None:
        data = TestData(disk_cache)
        instances.append(data)
        barrier.wait()
        results.append(data.users(300))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    misses = [d.get_cache_performance_metrics()["misses"] for d in instances]
    assert sorted(misses) == [0] * 7 + [1]
    assert all(r == results[0] for r in results)


def test_build_from_threads_hands_out_each_record_once(memory_cache: CacheManager) -> None:
    data = TestData(memory_cache)
    ids: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(60):
            record = data.build("user")
            with lock:
                ids.append(record["id"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(ids) == list(range(1, 241))
