"""qhub's cache: a :class:`CacheManager` over memory, disk (SQLite), Redis or layered storage.

Names are loaded on first use (PEP 562), so ``import qhub.cache`` stays cheap and never
imports redis; the Redis backend imports it when one is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "CacheManager": "qhub.cache.manager",
    "CacheBackend": "qhub.cache.base",
    "MemoryCacheBackend": "qhub.cache.memory_backend",
    "DiskCacheBackend": "qhub.cache.disk_backend",
    "RedisCacheBackend": "qhub.cache.redis_backend",
    "LayeredCacheBackend": "qhub.cache.layered_backend",
    "Serializer": "qhub.cache.serializer",
    "cache_result": "qhub.cache.decorators",
    "cache_from_config": "qhub.cache.manager",
    "backend_from_config": "qhub.cache.backends",
    "init_backend": "qhub.cache.backends",
}

__all__ = [
    "CacheBackend",
    "CacheManager",
    "DiskCacheBackend",
    "LayeredCacheBackend",
    "MemoryCacheBackend",
    "RedisCacheBackend",
    "Serializer",
    "backend_from_config",
    "cache_from_config",
    "cache_result",
    "init_backend",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from qhub.cache.backends import backend_from_config, init_backend
    from qhub.cache.base import CacheBackend
    from qhub.cache.decorators import cache_result
    from qhub.cache.disk_backend import DiskCacheBackend
    from qhub.cache.layered_backend import LayeredCacheBackend
    from qhub.cache.manager import CacheManager, cache_from_config
    from qhub.cache.memory_backend import MemoryCacheBackend
    from qhub.cache.redis_backend import RedisCacheBackend
    from qhub.cache.serializer import Serializer
