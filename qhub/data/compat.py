"""The reference document's names: ``DatabaseTestDataGenerator``, ``TestDataCache``,
``generate_cached_users`` and ``cached_user_data``, built on :class:`TestData`.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from qhub.data.kinds import Record
from qhub.data.reader import CacheAwareDataReader
from qhub.data.recipe import stable_hash
from qhub.data.testdata import NAMESPACE, TestData, _Stored

if TYPE_CHECKING:
    from qhub.cache import CacheManager
    from qhub.config import QHubConfig

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])



class TestDataCache:
    """A cache for test data with its own default TTL (0 = no expiry).

    Wraps a :class:`qhub.cache.CacheManager` (namespace ``data``); without one, builds the
    cache configured for the project (the on-disk backend by default, so data survives
    between runs).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        default_ttl: float = 3600,
        cache: CacheManager | None = None,
        *,
        backend: str | None = None,
        config: QHubConfig | None = None,
    ) -> None:
        self.default_ttl = default_ttl
        self._owned: CacheManager | None = None
        if cache is None:
            from qhub.cache import CacheManager
            from qhub.config import load_config

            cache = CacheManager.from_config(config or load_config(), backend=backend)
            self._owned = cache
        self.manager: CacheManager = cache.namespaced(NAMESPACE)

    def _ttl(self, ttl: float | None) -> float:
        return self.default_ttl if ttl is None else ttl

    def get(self, key: str, default: Any = None) -> Any:
        """A fresh copy of the value under ``key``, or ``default``."""
        return self.manager.get(key, default)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (default: ``default_ttl``; 0 = no expiry)."""
        self.manager.set(key, value, ttl=self._ttl(ttl))

    def get_or_set(self, key: str, compute: Callable[[], T], ttl: float | None = None) -> T:
        """The cached value, or ``compute()`` run once (across workers) and stored."""
        value: T = self.manager.get_or_set(key, compute, ttl=self._ttl(ttl))
        return value

    def delete(self, key: str) -> bool:
        """Remove ``key``."""
        return bool(self.manager.delete(key))

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove every key matching a glob such as ``user:*``."""
        return int(self.manager.invalidate_pattern(pattern))

    def stats(self) -> dict[str, Any]:
        """The underlying cache's statistics."""
        stats: dict[str, Any] = self.manager.stats()
        return stats

    get_stats = stats
    """The reference document's name for :meth:`stats`."""

    def close(self) -> None:
        """Close the cache if this object built it."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def _manager(cache: CacheManager | TestDataCache | None) -> CacheManager | None:
    return cache.manager if isinstance(cache, TestDataCache) else cache


class DatabaseTestDataGenerator(TestData):
    """The reference API over :class:`TestData`: ``generate_user_data`` and friends.

    Without ``cache``, uses the project's configured cache (shared with
    :func:`generate_cached_users`).
    """

    def __init__(
        self,
        enable_caching: bool = True,
        cache_ttl: float = 3600,
        *,
        cache: CacheManager | TestDataCache | None = None,
        locale: str = "en_US",
        seed: int = 1234,
        templates_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        manager: CacheManager | None = None
        if enable_caching:
            manager = _manager(cache) if cache is not None else default_cache().manager
        super().__init__(manager, locale=locale, seed=seed, ttl=cache_ttl)
        if templates_dir is not None:
            reader = CacheAwareDataReader(manager, templates_dir, locale=locale,
                                          metrics=self.metrics, faker_factory=self._faker)
            self.templates = reader.load()
        self._warming: dict[str, int] = {}

    def generate(
        self, kind: str, count: int, cache_key: str | None = None, use_cache: bool = True
    ) -> list[Record]:
        """``count`` records of ``kind``; ``use_cache=False`` regenerates (same records)."""
        if use_cache:
            return self.records(kind, count, cache_key)
        self._base_of(kind)
        return self._materialize(_Stored(kind, count, {}), use_cache=False)

    def generate_user_data(
        self, count: int, cache_key: str | None = None, use_cache: bool = True
    ) -> list[Record]:
        """``count`` users, cached unless ``use_cache`` is false; labelled ``cache_key``."""
        return self.generate("user", count, cache_key, use_cache)

    def generate_product_data(
        self, count: int, cache_key: str | None = None, use_cache: bool = True
    ) -> list[Record]:
        """``count`` products."""
        return self.generate("product", count, cache_key, use_cache)

    def generate_order_data(
        self, count: int, cache_key: str | None = None, use_cache: bool = True
    ) -> list[Record]:
        """``count`` orders referencing ``users(10)`` and ``products(10)``."""
        return self.generate("order", count, cache_key, use_cache)

    def enable_cache_warming(self, datasets: Mapping[str, int] | None = None) -> None:
        """Pre-generate ``{kind: count}`` (default 10 users, 10 products) on :meth:`warm_cache`.

        Also registers :meth:`warm_cache` with the cache manager's warming, when it has one.
        """
        self._warming = dict(datasets or {"user": 10, "product": 10})
        register = getattr(self._cache, "register_warming_function", None)
        if register is not None:
            register("qhub.data", self.warm_cache)

    def warm_cache(self) -> int:
        """Generate (or confirm cached) every dataset named by :meth:`enable_cache_warming`."""
        for kind, count in self._warming.items():
            self._dataset(kind, count)
        return len(self._warming)


_default_lock = threading.Lock()
_default: dict[str, Any] = {}


def default_cache() -> TestDataCache:
    """The process-wide :class:`TestDataCache` built from the project's configuration."""
    with _default_lock:
        if "cache" not in _default:
            _default["cache"] = TestDataCache()
        cache: TestDataCache = _default["cache"]
        return cache


def _default_generator() -> DatabaseTestDataGenerator:
    with _default_lock:
        generator = _default.get("generator")
    if generator is None:
        generator = DatabaseTestDataGenerator(cache=default_cache())
        with _default_lock:
            generator = _default.setdefault("generator", generator)
    assert isinstance(generator, DatabaseTestDataGenerator)
    return generator


def generate_cached_users(count: int, cache_key: str | None = None) -> list[Record]:
    """``count`` users from the process-wide generator (cached in the configured cache)."""
    return _default_generator().generate_user_data(count, cache_key)


def cached_user_data(
    cache_ttl: float = 3600, *, cache: CacheManager | TestDataCache | None = None
) -> Callable[[F], F]:
    """Cache a data-making function's JSON-compatible result per arguments.

    The key includes the function's source, so editing the function regenerates.
    """

    def decorate(fn: F) -> F:
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = fn.__code__.co_code.hex()
        identity = stable_hash([fn.__module__, fn.__qualname__, source])
        stores: list[TestDataCache] = []

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not stores:
                stores.append(cache if isinstance(cache, TestDataCache) else (
                    TestDataCache(cache_ttl, cache) if cache is not None else default_cache()
                ))
            store = stores[0]
            key = f"fn:{fn.__qualname__}:{stable_hash([identity, args, kwargs])[:32]}"
            return store.get_or_set(key, lambda: fn(*args, **kwargs), ttl=cache_ttl)

        return wrapper  # type: ignore[return-value]

    return decorate
