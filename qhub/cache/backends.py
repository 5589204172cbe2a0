"""The one backend registry: a name, URL, path or instance -> a backend.

Backend names come from the config schema (:data:`qhub.config.schema.CACHE_BACKENDS`), the
single list that also validates ``cache.backend`` and ``data.backend``. Backend ``<name>``
lives in module ``qhub.cache.<name>_backend`` as class ``<Name>CacheBackend`` and is
imported only when chosen, so ``import qhub.cache`` never imports redis. Every backend is
built from configuration the same way: ``<Backend>.from_config(config, **options)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub._redact import redact_url
from qhub.cache.base import CacheBackend
from qhub.config.schema import CACHE_BACKENDS
from qhub.exceptions import ConfigError

if TYPE_CHECKING:
    from qhub.config import QHubConfig

CHOICES = (
    f"{', '.join(CACHE_BACKENDS)}, a redis:// or rediss:// URL, sqlite:///path, "
    "a file path, or a CacheBackend instance"
)


def backend_class(name: str) -> Any:
    """The class registered under ``name`` (one of :data:`CACHE_BACKENDS`).

    Typed ``Any``: each backend has its own constructor arguments.
    """
    if name not in CACHE_BACKENDS:
        raise ConfigError(f"unknown cache backend {name!r}; choose one of: {CHOICES}")
    module = importlib.import_module(f"qhub.cache.{name}_backend")
    return getattr(module, f"{name.title()}CacheBackend")


def _build(name: str, *args: Any, **kwargs: Any) -> CacheBackend:
    backend: CacheBackend = backend_class(name)(*args, **kwargs)
    return backend


def _configured(name: str, config: QHubConfig, **options: Any) -> CacheBackend:
    backend: CacheBackend = backend_class(name).from_config(config, **options)
    return backend


def looks_like_path(spec: str) -> bool:
    """True for strings meant as a disk-cache file (a slash, or a .db/.sqlite name)."""
    return "://" not in spec and (
        "/" in spec or "\\" in spec or spec.endswith((".db", ".sqlite", ".sqlite3"))
    )


def _sqlite_path(spec: str) -> Path:
    # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute/path.db
    path = spec[len("sqlite:///") :] if spec.lower().startswith("sqlite:///") else ""
    if not path.strip("/"):
        raise ConfigError(
            f"sqlite URL {spec!r} names no file; use sqlite:///relative/cache.db "
            "or sqlite:////absolute/cache.db"
        )
    return Path(path)


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
        return _build("redis", url=spec, **kwargs)
    if lowered.startswith("sqlite:"):
        return _build("disk", _sqlite_path(spec), **kwargs)
    if lowered == "layered":
        back = kwargs.pop("back", None)
        return _build("layered", init_backend(back or "disk"), **kwargs)
    if lowered in CACHE_BACKENDS:
        return _build(lowered, **kwargs)
    if looks_like_path(spec):
        return _build("disk", Path(spec), **kwargs)
    raise ConfigError(f"unknown cache backend {redact_url(spec)!r}; choose one of: {CHOICES}")


def redis_configured(config: QHubConfig) -> bool:
    """True when the user pointed qhub at a Redis server (URL, host or port set)."""
    return config.redis.url is not None or any(
        config.origin(f"redis.{k}") != "default" for k in ("host", "port")
    )


def uses_redis(config: QHubConfig) -> bool:
    """True when the cache or the test data would talk to Redis with this configuration."""
    if not config.cache.enabled:
        return False
    names = {config.cache.backend}
    if config.data.enabled and config.data.backend != "inherit":
        names.add(config.data.backend)
    return "redis" in names or ("layered" in names and redis_configured(config))


def backend_from_config(
    config: QHubConfig, name: str | None = None, *, create: bool = True, readonly: bool = False
) -> CacheBackend:
    """The backend ``name`` (default ``cache.backend``) built by its ``from_config``.

    ``name`` may also be a URL or a file path (relative to the project root). ``create``
    and ``readonly`` reach the disk backend (also behind ``layered``): read-only commands
    open an existing file and create nothing.
    """
    chosen = (name or config.cache.backend).strip()
    kind = chosen.lower()
    disk = {"create": create, "readonly": readonly}
    if kind == "disk":
        return _configured("disk", config, **disk)
    if kind == "layered":
        return _configured("layered", config, **disk)
    if kind in CACHE_BACKENDS:
        return _configured(kind, config)
    if kind.startswith("sqlite:"):
        path = config.path(_sqlite_path(chosen))
        return _configured("disk", config, path=path, **disk)
    if looks_like_path(chosen):
        return _configured("disk", config, path=config.path(chosen), **disk)
    if kind.startswith(("redis://", "rediss://", "unix://")):
        return _configured("redis", config, url=chosen, password=None)
    return init_backend(chosen)
