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
    "MemoryCacheBackend": "qhub.cache.memory",
    "DiskCacheBackend": "qhub.cache.disk",
    "RedisCacheBackend": "qhub.cache.redis_backend",
    "LayeredCacheBackend": "qhub.cache.layered",
    "Serializer": "qhub.cache.serializer",
    "cache_result": "qhub.cache.decorators",
    "cache_from_config": "qhub.cache.config",
    "backend_from_config": "qhub.cache.config",
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
    from qhub.cache.backends import init_backend
    from qhub.cache.base import CacheBackend
    from qhub.cache.config import backend_from_config, cache_from_config
    from qhub.cache.decorators import cache_result
    from qhub.cache.disk import DiskCacheBackend
    from qhub.cache.layered import LayeredCacheBackend
    from qhub.cache.manager import CacheManager
    from qhub.cache.memory import MemoryCacheBackend
    from qhub.cache.redis_backend import RedisCacheBackend
    from qhub.cache.serializer import Serializer
