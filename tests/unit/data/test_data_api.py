"""The reference names (DatabaseTestDataGenerator & co.) and data_from_config."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qhub.cache import CacheManager
from qhub.config import load_config
from qhub.data import (
    DatabaseTestDataGenerator,
    TestData,
    TestDataCache,
    cached_user_data,
    data_from_config,
    generate_cached_users,
)
from qhub.exceptions import TemplateError


class TestDatabaseTestDataGenerator:
    """The seed document's generator API."""

    def test_generate_user_data_caches_and_labels(self, memory_cache: CacheManager) -> None:
        generator = DatabaseTestDataGenerator(enable_caching=True, cache_ttl=60,
                                              cache=memory_cache)
        users = generator.generate_user_data(count=10, cache_key="integration_test_users")
        assert generator.generate_user_data(count=10) == users
        assert generator.get("integration_test_users") == users
        metrics = generator.get_cache_performance_metrics()
        assert (metrics["hits"], metrics["misses"], metrics["hit_rate_percent"]) == (2, 1, 66.67)
        assert metrics["data_generation_time"] > 0

    def test_use_cache_false_regenerates_the_same_records(
        self, memory_cache: CacheManager
    ) -> None:
        generator = DatabaseTestDataGenerator(cache=memory_cache)
        cached = generator.generate_product_data(5)
        fresh = generator.generate_product_data(5, use_cache=False)
        assert fresh == cached
        assert generator.get_cache_performance_metrics()["misses"] == 2

    def test_caching_disabled(self) -> None:
        generator = DatabaseTestDataGenerator(enable_caching=False)
        generator.generate_order_data(2)
        generator.generate_order_data(2)
        assert generator.get_cache_performance_metrics()["hits"] == 0

    def test_cache_warming(self, memory_cache: CacheManager) -> None:
        generator = DatabaseTestDataGenerator(cache=memory_cache)
        generator.enable_cache_warming({"user": 4, "company": 2})
        assert generator.warm_cache() == 2
        later = DatabaseTestDataGenerator(cache=memory_cache)
        later.generate("company", 2)
        later.generate_user_data(4)
        assert later.get_cache_performance_metrics()["faker_calls"] == 0

    def test_templates_dir(self, write_template: Callable[[str, str], Path]) -> None:
        path = write_template("t.yaml", "templates:\n  vip: {kind: user, fields: {vip: true}}\n")
        generator = DatabaseTestDataGenerator(enable_caching=False, templates_dir=path.parent)
        assert generator.generate("vip", 2)[0]["vip"] is True


class TestTestDataCache:
    """TestDataCache applies its default TTL and namespaces keys under data:."""

    def test_default_ttl_and_namespace(self, memory_cache: CacheManager) -> None:
        cache = TestDataCache(default_ttl=0, cache=memory_cache)
        cache.set("k", {"a": 1})
        value = cache.get("k")
        value["a"] = 2
        assert cache.get("k") == {"a": 1}
        assert cache.manager.namespace.endswith(":data")
        entry = memory_cache.backend.get_entry(f"{cache.manager.namespace}:k")
        assert entry is not None and entry[1] is None
        assert cache.invalidate_pattern("k*") == 1 and cache.get("k") is None


def test_cached_user_data_runs_once_per_arguments(memory_cache: CacheManager) -> None:
    calls: list[int] = []

    @cached_user_data(cache_ttl=1800, cache=memory_cache)
    def profile(n: int) -> dict[str, int]:
        calls.append(n)
        return {"n": n}

    assert profile(1) == profile(1) == {"n": 1}
    assert profile(2) == {"n": 2}
    assert calls == [1, 2]


def test_generate_cached_users_uses_the_project_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The global helper uses the configured (disk) cache under the project root."""
    monkeypatch.chdir(tmp_path)
    code = ("from qhub.data import generate_cached_users as g, process_faker_calls as c;"
            "import json; print(json.dumps([g(count=5, cache_key='api_test_users'), c()]))")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, check=True) for _ in range(2)]
    (users1, calls1), (users2, calls2) = (json.loads(r.stdout) for r in runs)
    assert users1 == users2 and len(users1) == 5
    assert calls1 > 0 and calls2 == 0
    assert (tmp_path / ".qhub" / "cache.db").is_file()
    assert callable(generate_cached_users)


class TestDataFromConfig:
    """data_from_config follows the [data] settings."""

    def test_memory_backend_and_templates_dir(self, tmp_path: Path) -> None:
        (tmp_path / "fixtures").mkdir()
        (tmp_path / "fixtures" / "t.yaml").write_text(
            "templates:\n  vip: {kind: user, fields: {vip: true}}\n", encoding="utf-8")
        config = load_config(tmp_path, environ={}, overrides={
            "data.backend": "memory", "data.templates_dir": "fixtures", "data.seed": 9,
            "data.locale": "fr_FR"})
        data = data_from_config(config, None)
        try:
            assert isinstance(data, TestData)
            assert (data.seed, data.locale) == (9, "fr_FR")
            assert data.build("vip")["vip"] is True
            data.users(2)
            data.users(2)
            assert data.get_cache_performance_metrics()["hits"] == 1
        finally:
            data.close()

    def test_inherit_uses_the_given_cache(self, tmp_path: Path, memory_cache: CacheManager) -> None:
        config = load_config(tmp_path, environ={}, overrides={"data.cache_ttl": 0})
        data = data_from_config(config, memory_cache)
        data.users(1)
        assert any(":data:user:1:" in k for k in memory_cache.backend.keys("*"))
        data.close()
        memory_cache.set("still-open", 1)  # a shared cache is not closed by data.close()
        assert memory_cache.get("still-open") == 1

    def test_disabled_generates_without_cache(self, tmp_path: Path) -> None:
        config = load_config(tmp_path, environ={}, overrides={"data.enabled": False})
        data = data_from_config(config, None)
        data.users(1)
        data.users(1)
        assert data.get_cache_performance_metrics()["misses"] == 2

    def test_bad_template_fails_at_construction(self, tmp_path: Path) -> None:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "x.yml").write_text(
            "templates:\n  t:\n    fields:\n      a: {faker: nope}\n", encoding="utf-8")
        config = load_config(tmp_path, environ={}, overrides={"data.backend": "memory"})
        with pytest.raises(TemplateError, match=r"^data/x.yml:4: field 'a': unknown provider"):
            data_from_config(config, None)


def test_import_is_light() -> None:
    code = ("import sys, qhub.data;"
            "heavy = {'faker', 'yaml', 'redis', 'orjson'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
