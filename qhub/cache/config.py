"""Build the configured :class:`CacheManager` from a :class:`qhub.config.QHubConfig`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.cache.backends import init_backend, looks_like_path
from qhub.cache.base import CacheBackend
from qhub.cache.manager import CacheManager

if TYPE_CHECKING:
    from qhub.config import QHubConfig


def redis_configured(config: QHubConfig) -> bool:
    """True when the user pointed qhub at a Redis server (URL, host or port set)."""
    return config.redis.url is not None or any(
        config.origin(f"redis.{k}") != "default" for k in ("host", "port")
    )


def backend_from_config(config: QHubConfig, name: str | None = None) -> CacheBackend:
    """The backend ``name`` (default ``cache.backend``) built from the ``cache.*``/``redis.*``.

    ``layered`` puts ``cache.layered_front_size`` memory items in front of Redis when Redis
    is configured (``redis.url``, ``redis.host`` or ``redis.port`` set), else of disk.
    Any other string is handed to :func:`qhub.cache.backends.init_backend` (URL or path).
    """
    cache = config.cache
    chosen = (name or cache.backend).strip()
    kind = chosen.lower()
    if kind == "memory":
        from qhub.cache.memory import MemoryCacheBackend

        return MemoryCacheBackend(max_size=cache.max_size, eviction=cache.eviction)
    if kind == "disk":
        from qhub.cache.disk import DiskCacheBackend

        return DiskCacheBackend(config.path(cache.path))
    if kind == "redis":
        from qhub.cache.redis_backend import RedisCacheBackend

        redis = config.redis
        if redis.url:
            return RedisCacheBackend(url=redis.url, socket_timeout=redis.socket_timeout)
        return RedisCacheBackend(
            host=redis.host,
            port=redis.port,
            db=redis.db,
            password=redis.password,
            socket_timeout=redis.socket_timeout,
        )
    if kind == "layered":
        from qhub.cache.layered import LayeredCacheBackend

        back = backend_from_config(config, "redis" if redis_configured(config) else "disk")
        return LayeredCacheBackend(back, front_size=cache.layered_front_size)
    if looks_like_path(chosen):
        return init_backend(str(config.path(chosen)))
    return init_backend(chosen)


def cache_from_config(
    config: QHubConfig,
    *,
    backend: str | None = None,
    namespace: str | None = None,
) -> CacheManager:
    """A manager on the configured backend with every ``cache.*`` setting applied.

    ``backend`` overrides ``cache.backend`` (memory, disk, redis, layered, a URL or path);
    ``namespace`` overrides ``cache.namespace``. ``cache.enabled`` is not checked here:
    callers decide whether to build a cache at all. ``cache.enable_warming`` turns warming
    on; the caller registers functions and calls :meth:`CacheManager.warm_cache`.
    """
    cache = config.cache
    manager = CacheManager(
        backend_from_config(config, backend),
        namespace=namespace or cache.namespace,
        default_ttl=cache.default_ttl,
        on_error=cache.on_error,
        # unset: "auto" (compress except on the in-process memory backend)
        compress_threshold=(
            cache.compress_threshold
            if config.origin("cache.compress_threshold") != "default"
            else "auto"
        ),
        allow_pickle=cache.allow_pickle,
        pickle_secret=cache.pickle_secret,
        lock_timeout=cache.lock_timeout,
        fallback_size=cache.max_size,
    )
    if cache.enable_warming:
        manager.enable_warming()
    return manager
