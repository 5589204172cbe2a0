"""Backend registry and factory: a name, a URL, a path or an instance -> a backend.

Backend modules are imported only when chosen, so ``import qhub.cache`` never imports redis.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qhub._redact import redact_url
from qhub.cache.base import CacheBackend
from qhub.exceptions import ConfigError

BACKENDS: dict[str, tuple[str, str]] = {
    "memory": ("qhub.cache.memory", "MemoryCacheBackend"),
    "disk": ("qhub.cache.disk", "DiskCacheBackend"),
    "redis": ("qhub.cache.redis_backend", "RedisCacheBackend"),
    "layered": ("qhub.cache.layered", "LayeredCacheBackend"),
}
"""Backend name -> (module, class)."""

CHOICES = (
    "memory, disk, redis, layered, a redis:// or rediss:// URL, sqlite:///path, "
    "a file path, or a CacheBackend instance"
)


def backend_class(name: str) -> Callable[..., CacheBackend]:
    """The class registered under ``name``."""
    module, attr = BACKENDS[name]
    cls: Callable[..., CacheBackend] = getattr(importlib.import_module(module), attr)
    return cls


def looks_like_path(spec: str) -> bool:
    """True for strings meant as a disk-cache file (a slash, or a .db/.sqlite name)."""
    return "://" not in spec and (
        "/" in spec or "\\" in spec or spec.endswith((".db", ".sqlite", ".sqlite3"))
    )


def init_backend(backend: str | CacheBackend | None = None, **kwargs: Any) -> CacheBackend:
    """Build a backend from a name, URL or path; an instance is returned unchanged.

    ``kwargs`` go to the backend's constructor. ``layered`` needs ``back=`` (a backend or
    anything this function accepts); without it the back store is ``disk``.
    """
    if backend is None:
        backend = "memory"
    if isinstance(backend, CacheBackend):
        return backend
    if not isinstance(backend, str):
        raise ConfigError(
            f"cache backend must be a name, URL or CacheBackend, got {type(backend).__name__}; "
            f"choose one of: {CHOICES}"
        )
    spec = backend.strip()
    lowered = spec.lower()
    if lowered.startswith(("redis://", "rediss://", "unix://")):
        return backend_class("redis")(url=spec, **kwargs)
    if lowered.startswith("sqlite:"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute/path.db
        path = spec[len("sqlite:///") :] if lowered.startswith("sqlite:///") else ""
        if not path.strip("/"):
            raise ConfigError(
                f"sqlite URL {spec!r} names no file; use sqlite:///relative/cache.db "
                "or sqlite:////absolute/cache.db"
            )
        return backend_class("disk")(Path(path), **kwargs)
    if lowered == "layered":
        back = kwargs.pop("back", None)
        return backend_class("layered")(init_backend(back or "disk"), **kwargs)
    if lowered in BACKENDS:
        return backend_class(lowered)(**kwargs)
    if looks_like_path(spec):
        return backend_class("disk")(Path(spec), **kwargs)
    raise ConfigError(f"unknown cache backend {redact_url(spec)!r}; choose one of: {CHOICES}")
