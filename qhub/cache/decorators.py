"""``cache_result``: cache a function's return value under a key stable across processes.

The key is ``fn:<module>.<qualname>:<source digest>:<arguments digest>``. Arguments are
bound to the signature first (so ``f(1, b=2)`` and ``f(1, 2)`` share a key) and digested with
SHA-256 over their canonical encoding, never with ``hash()`` (randomised per process for
strings). The source digest changes when the function's source changes, so an edited
function does not return results of its old version; pass ``version=`` to control it.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from qhub.cache.manager import CacheManager
from qhub.cache.serializer import stable_digest
from qhub.exceptions import SerializationError

log = logging.getLogger("qhub.cache")
P = ParamSpec("P")
R = TypeVar("R")
KeyBuilder = Callable[..., str]


def source_digest(fn: Callable[..., Any]) -> str:
    """12 hex digits identifying ``fn``'s source (its bytecode when the source is unknown)."""
    try:
        text = inspect.getsource(fn).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = code.co_code + repr(code.co_consts).encode() if code is not None else b""
    return hashlib.sha256(text).hexdigest()[:12]


def cache_result(
    cache: CacheManager,
    ttl: float | None = None,
    key: str | KeyBuilder | None = None,
    *,
    version: str | None = None,
    include_source: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator caching ``fn(*args, **kwargs)`` in ``cache`` with dogpile protection.

    ``ttl``: ``None`` uses the manager's ``default_ttl``; ``0`` never expires; otherwise
    seconds. ``key``: a string replaces ``<module>.<qualname>`` as the key's stem (arguments
    are still appended); a callable receives the call's arguments and returns the whole key.
    ``version`` (or, by default, a digest of the source) is part of the key. Calls whose
    arguments cannot be encoded (e.g. ``self`` of a method) run uncached.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        stem = key if isinstance(key, str) else f"{fn.__module__}.{fn.__qualname__}"
        tag = version if version is not None else (source_digest(fn) if include_source else "")

        def build_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
            if callable(key):
                return key(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            try:
                digest = stable_digest(list(bound.arguments.items()))
            except SerializationError as exc:
                log.debug("qhub cache: %s runs uncached: %s", stem, exc)
                return None
            return f"fn:{stem}:{tag}:{digest}"

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            cache_key = build_key(args, kwargs)
            if cache_key is None:
                return fn(*args, **kwargs)
            return cache.get_or_set(cache_key, lambda: fn(*args, **kwargs), ttl)

        def cache_key(*args: Any, **kwargs: Any) -> str | None:
            """The key a call with these arguments uses (``None``: it would run uncached)."""
            return build_key(args, kwargs)

        wrapper.cache_key = cache_key  # type: ignore[attr-defined]
        return wrapper

    return decorate
