"""Backend factory and ``cache_from_config``: names, URLs, paths, settings honoured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qhub.cache import (
    CacheManager,
    DiskCacheBackend,
    LayeredCacheBackend,
    MemoryCacheBackend,
    RedisCacheBackend,
    cache_from_config,
    init_backend,
)
from qhub.config import load_config
from qhub.exceptions import ConfigError


class TestInitBackend:
    """Names, URLs, paths and instances."""

    def test_names_urls_paths(self, tmp_path: Path) -> None:
        """Each accepted spelling builds the right backend."""
        assert isinstance(init_backend("memory"), MemoryCacheBackend)
        assert isinstance(init_backend(None), MemoryCacheBackend)
        redis_backend = init_backend("rediss://:pw@example.test:6380/2")
        assert isinstance(redis_backend, RedisCacheBackend)
        assert "pw" not in repr(redis_backend)
        disk = init_backend(str(tmp_path / "a.db"))
        assert isinstance(disk, DiskCacheBackend) and disk.path == tmp_path / "a.db"
        url_disk = init_backend(f"sqlite:///{tmp_path}/b.db")
        assert isinstance(url_disk, DiskCacheBackend) and url_disk.path == tmp_path / "b.db"
        instance = MemoryCacheBackend()
        assert init_backend(instance) is instance

    @pytest.mark.parametrize("spec", ["mongo", "memcached://x", 42])
    def test_unknown_lists_choices(self, spec: object) -> None:
        """A bad backend is a ConfigError naming the valid choices."""
        with pytest.raises(ConfigError, match="memory, disk, redis, layered"):
            init_backend(spec)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="names no file"):
            init_backend("sqlite://")


class TestCacheFromConfig:
    """Settings from QHubConfig reach the manager and backend."""

    def test_memory_settings(self, tmp_path: Path) -> None:
        """max_size, eviction, namespace, default_ttl, on_error and warming are honoured."""
        config = load_config(tmp_path, environ={}, overrides={
            "cache.backend": "memory", "cache.max_size": 7, "cache.eviction": "lfu",
            "cache.namespace": "suite", "cache.default_ttl": 0, "cache.on_error": "fail",
            "cache.enable_warming": True, "cache.compress_threshold": 10,
        })
        cache = cache_from_config(config)
        backend = cache.backend
        assert isinstance(backend, MemoryCacheBackend)
        assert (backend.max_size, backend.eviction) == (7, "lfu")
        assert cache.namespace == "suite" and cache.default_ttl == 0
        assert cache.warming_enabled
        cache.set("k", "x" * 50)
        assert backend.get("suite:k")[3:4] == b"z"  # type: ignore[index]
        with pytest.raises(Exception, match="cannot cache"):
            cache.set("bad", object())

    def test_disk_path_relative_to_root(self, tmp_path: Path) -> None:
        """cache.path resolves against the project root; namespace can be overridden."""
        config = load_config(tmp_path, environ={}, overrides={"cache.path": "sub/c.db"})
        cache = cache_from_config(config, namespace="other")
        assert isinstance(cache.backend, DiskCacheBackend)
        assert cache.backend.path == tmp_path / "sub" / "c.db"
        assert cache.namespace == "other"

    def test_redis_url_wins(self, tmp_path: Path) -> None:
        """redis.url beats host/port/db/password; without it those are used."""
        config = load_config(tmp_path, environ={}, overrides={
            "redis.url": "redis://h1:1111/4", "redis.host": "h2", "redis.port": 2222,
        })
        backend = cache_from_config(config, backend="redis").backend
        kwargs = backend.client.connection_pool.connection_kwargs  # type: ignore[attr-defined]
        assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("h1", 1111, 4)
        config = load_config(tmp_path, environ={}, overrides={
            "redis.host": "h2", "redis.port": 2222, "redis.db": 3, "redis.password": "pw",
        })
        backend = cache_from_config(config, backend="redis").backend
        kwargs = backend.client.connection_pool.connection_kwargs  # type: ignore[attr-defined]
        assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
            "h2", 2222, 3, "pw",
        )

    def test_layered_picks_back_store(self, tmp_path: Path) -> None:
        """layered: Redis behind when Redis is configured, else disk; front size honoured."""
        config = load_config(tmp_path, environ={}, overrides={
            "cache.backend": "layered", "cache.layered_front_size": 9,
        })
        backend = cache_from_config(config).backend
        assert isinstance(backend, LayeredCacheBackend)
        assert isinstance(backend.back, DiskCacheBackend)
        assert backend.front.max_size == 9
        config = load_config(tmp_path, environ={"REDIS_URL": "redis://127.0.0.1:1/0"},
                             overrides={"cache.backend": "layered"})
        assert isinstance(cache_from_config(config).backend.back,  # type: ignore[attr-defined]
                          RedisCacheBackend)


class TestImportCost:
    """``import qhub.cache`` stays light."""

    def test_no_redis_at_import(self) -> None:
        """Importing qhub.cache and touching CacheManager/Memory does not import redis."""
        code = (
            "import sys, qhub.cache as c; c.CacheManager; c.MemoryCacheBackend; c.cache_result;"
            "c.cache_from_config; print(sorted(m for m in ('redis', 'yaml', 'requests') "
            "if m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out == "[]"


class TestManagerErrors:
    """Errors in fallback mode are counted, never raised."""

    def test_bad_inputs_do_not_raise(self) -> None:
        """Unencodable values and non-str keys count errors and read as misses."""
        cache = CacheManager(MemoryCacheBackend())
        assert cache.set("k", object()) is False
        assert cache.get(123, "d") == "d"  # type: ignore[arg-type]
        assert cache.get_or_set(5, lambda: "v") == "v"  # type: ignore[arg-type]
        assert cache.get_stats()["errors"] == 3

    def test_bad_settings(self) -> None:
        """Bad on_error, ttl and namespace values are ConfigErrors."""
        with pytest.raises(ConfigError, match="fallback, fail"):
            CacheManager(on_error="ignore")
        with pytest.raises(ConfigError, match="default_ttl"):
            CacheManager(default_ttl=-1)
        for bad in ("", "users*", "my suite", "a\nb"):
            with pytest.raises(ConfigError, match="namespace"):
                CacheManager(namespace=bad)
        assert CacheManager(namespace="team:suite").namespace == "team:suite"
        with pytest.raises(ConfigError, match="namespace"):
            CacheManager().namespaced("a:b")  # ':' separates a view from its parent

    def test_lock_timeout(self) -> None:
        """A waiter gives up after lock_timeout: computes anyway, or raises in fail mode."""
        from qhub.exceptions import LockTimeoutError

        backend = MemoryCacheBackend()
        soft = CacheManager(backend, lock_timeout=0.05)
        strict = CacheManager(backend, lock_timeout=0.05, on_error="fail")
        with backend.lock("qhub:k", 1):
            assert soft.get_or_set("k", lambda: 1) == 1
            assert soft.get_stats()["lock_timeouts"] == 1
            soft.delete("k")
            with pytest.raises(LockTimeoutError):
                strict.get_or_set("k", lambda: 2)
