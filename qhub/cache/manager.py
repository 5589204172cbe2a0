"""``CacheManager``: namespaces, TTLs, encoding, stats, dogpile locks and failure handling.

The manager turns values into bytes (:mod:`qhub.cache.serializer`) and keeps them in a
backend under ``"<namespace>:<key>"``. With ``on_error="fallback"`` (the default) no cache
failure reaches the caller: backend outages switch to memory (:mod:`qhub.cache.failover`),
undecodable or refused values count as errors and read as misses. With ``on_error="fail"``
those errors are raised as :class:`qhub.exceptions.CacheError` subclasses.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from typing import Any, Literal, TypeVar

import orjson

from qhub._redact import redact_text
from qhub.cache.backends import init_backend
from qhub.cache.base import CacheBackend, glob_escape
from qhub.cache.failover import BackendState
from qhub.cache.serializer import PLAIN_HEADER as _PLAIN
from qhub.cache.serializer import Serializer
from qhub.cache.stats import SAMPLE_MASK, CacheStats, summarize
from qhub.cache.warming import Warmer, run_warmers
from qhub.exceptions import (
    CacheBackendError,
    CacheError,
    ConfigError,
    LockTimeoutError,
    SerializationError,
)

log = logging.getLogger("qhub.cache")
T = TypeVar("T")
_MISSING: Any = object()
_NAME = re.compile(r"^[^:*?\[\]\\]+$")
ON_ERROR = ("fallback", "fail")
DEFAULT_COMPRESS_THRESHOLD = 1024
"""Bytes above which values are zlib-compressed on backends that gain from it."""
_perf_ns = time.perf_counter_ns
_json_loads = orjson.loads


def _bad_key(key: object) -> CacheError:
    return CacheError(f"cache keys must be str, got {type(key).__name__}")


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{what} {name!r} must be a non-empty string without ':', '*', '?', '[', ']' or '\\'"
        )
    return name


class CacheManager:
    """A namespaced cache over one backend; see the module docstring for error handling.

    ``ttl`` everywhere: ``None`` uses ``default_ttl``; ``0`` means the value never expires;
    a positive number is seconds. ``default_ttl=0`` makes "never expires" the default.
    """

    def __init__(
        self,
        backend: CacheBackend | str | None = None,
        *,
        namespace: str | None = "qhub",
        default_ttl: float = 3600,
        on_error: str = "fallback",
        compress_threshold: int | Literal["auto"] | None = "auto",
        allow_pickle: bool = False,
        pickle_secret: str | bytes | None = None,
        lock_timeout: float = 30.0,
        reconnect_interval: float = 5.0,
        fallback_size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be one of: {', '.join(ON_ERROR)}; got {on_error!r}")
        if default_ttl is None or default_ttl < 0:
            raise ConfigError(
                f"default_ttl must be >= 0 seconds (0 = no expiry), got {default_ttl}"
            )
        if lock_timeout <= 0:
            raise ConfigError(f"lock_timeout must be > 0 seconds, got {lock_timeout}")
        self._state = BackendState(
            init_backend(backend),
            on_error=on_error,
            reconnect_interval=reconnect_interval,
            clock=clock,
            fallback_size=fallback_size,
        )
        primary = self._state.primary
        if compress_threshold == "auto":
            # in-process stores gain nothing from zlib: it only costs time on every call
            compress_threshold = DEFAULT_COMPRESS_THRESHOLD if primary.compresses else None
        self._serializer = Serializer(
            compress_threshold=compress_threshold,
            allow_pickle=allow_pickle,
            pickle_secret=pickle_secret,
        )
        self._dumps = self._serializer.dumps
        self._loads = self._serializer.loads
        self._fail = on_error == "fail"
        self.default_ttl = default_ttl
        self.lock_timeout = lock_timeout
        self.namespace = "" if namespace is None else namespace
        if self.namespace:
            _check_name(self.namespace, "namespace")
        self._prefix = f"{self.namespace}:" if self.namespace else ""
        self._stats = CacheStats()
        self._children: dict[str, CacheManager] = {}
        self._parent: CacheManager | None = None
        self._warmers: dict[str, Warmer] = {}
        self._warming_enabled = False
        self._warned: set[str] = set()
        self._state.add_listener(self._backend_event)

    def _view(self, name: str) -> CacheManager:
        view = object.__new__(CacheManager)
        view.__dict__.update(
            _state=self._state,
            _serializer=self._serializer,
            _dumps=self._dumps,
            _loads=self._loads,
            _fail=self._fail,
            default_ttl=self.default_ttl,
            lock_timeout=self.lock_timeout,
            namespace=f"{self._prefix}{name}",
            _prefix=f"{self._prefix}{name}:",
            _stats=CacheStats(),
            _children={},
            _parent=self,
            _warmers={},
            _warming_enabled=self._warming_enabled,
            _warned=self._warned,
        )
        return view

    def namespaced(self, name: str) -> CacheManager:
        """A view on the same backend whose keys live under ``<namespace>:<name>:``.

        It has its own stats (also counted in this manager's totals) and its own warming
        functions; ``clear()`` on it removes only its keys. The same name gives the same view.
        """
        _check_name(name, "namespace")
        view = self._children.get(name)
        if view is None:
            view = self._children[name] = self._view(name)
        return view

    def __repr__(self) -> str:
        return f"CacheManager({self._state.primary!r}, namespace={self.namespace!r})"

    # -- errors ---------------------------------------------------------------------------
    def _handle(self, exc: CacheError) -> None:
        """Count ``exc``; raise it with ``on_error='fail'``, else warn once per kind."""
        self._stats.add("errors")
        if self._fail:
            raise exc
        kind = type(exc).__name__
        if kind in self._warned:
            log.debug("qhub cache: %s", redact_text(str(exc)))
        else:
            self._warned.add(kind)
            log.warning("qhub cache: %s (further %s errors logged at debug level)",
                        redact_text(str(exc)), kind)

    def _failed(self, exc: CacheBackendError) -> CacheBackend:
        """A backend call failed: count it, raise or switch to the fallback."""
        self._stats.add("errors")
        if self._fail:
            raise exc
        return self._state.fail_over(exc)

    def _full(self, key: str) -> str:
        if type(key) is not str:
            raise _bad_key(key)
        return self._prefix + key

    def _ttl(self, ttl: float | None) -> float | None:
        if ttl is None:
            ttl = self.default_ttl
        if ttl < 0:
            raise CacheError(f"ttl must be >= 0 seconds (0 = no expiry), got {ttl}")
        return ttl or None

    # -- reading --------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The cached value (a fresh copy), or ``default`` when missing, expired or unreadable."""
        # Hot path: locals instead of repeated attribute lookups, lock-free counters, and
        # latency timed on one call in SAMPLE_EVERY (see qhub.cache.stats).
        stats = self._stats
        timed = not stats.get_tick() & SAMPLE_MASK
        start = _perf_ns() if timed else 0
        if type(key) is not str:
            self._handle(_bad_key(key))
            return default
        full = self._prefix + key
        state = self._state
        backend = state.backend() if state.degraded else state.current
        try:
            data = backend.get(full)
        except CacheBackendError as exc:
            data = self._failed(exc).get(full)
        if data is None:
            stats.miss()
            if timed:
                stats.sample_get(_perf_ns() - start)
            return default
        try:
            # plain-JSON values (the usual case) decoded inline: one call less per hit
            value = _json_loads(data[4:]) if data[:4] == _PLAIN else self._loads(data)
        except (CacheError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
            stats.miss()
            self._handle(exc if isinstance(exc, CacheError)
                         else SerializationError(f"stored value is damaged: {exc}"))
            return default
        stats.hit()
        if timed:
            stats.sample_get(_perf_ns() - start)
        return value

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Values of the keys that are cached, in one backend round trip."""
        start = _perf_ns()
        try:
            wanted = {self._full(k): k for k in keys}
        except CacheError as exc:
            self._handle(exc)
            return {}
        try:
            found = self._state.backend().get_many(wanted)
        except CacheBackendError as exc:
            found = self._failed(exc).get_many(wanted)
        out: dict[str, Any] = {}
        for full, data in found.items():
            try:
                out[wanted[full]] = self._loads(data)
            except CacheError as exc:
                self._handle(exc)
        self._stats.got(len(out), len(wanted) - len(out), _perf_ns() - start)
        return out

    def contains(self, key: str) -> bool:
        """True when ``key`` holds a readable value (counts as a lookup)."""
        return self.get(key, _MISSING) is not _MISSING

    # -- writing --------------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Cache ``value``; returns False when it could not be stored (error counted)."""
        stats = self._stats
        timed = not stats.set_tick() & SAMPLE_MASK
        start = _perf_ns() if timed else 0
        try:
            if type(key) is not str:
                raise _bad_key(key)
            seconds = (self.default_ttl or None) if ttl is None else self._ttl(ttl)
            data = self._dumps(value)
        except CacheError as exc:
            self._handle(exc)
            return False
        full = self._prefix + key
        state = self._state
        backend = state.backend() if state.degraded else state.current
        try:
            backend.set(full, data, seconds)
        except CacheBackendError as exc:
            self._failed(exc).set(full, data, seconds)
        stats.set_one()
        if timed:
            stats.sample_set(_perf_ns() - start)
        return True

    def set_many(self, items: Mapping[str, Any], ttl: float | None = None) -> bool:
        """Cache several values with one TTL in one backend round trip."""
        start = _perf_ns()
        try:
            seconds = self._ttl(ttl)
            encoded = {self._full(k): self._dumps(v) for k, v in items.items()}
        except CacheError as exc:
            self._handle(exc)
            return False
        try:
            self._state.backend().set_many(encoded, seconds)
        except CacheBackendError as exc:
            self._failed(exc).set_many(encoded, seconds)
        self._stats.stored(len(encoded), _perf_ns() - start)
        return True

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        try:
            full = self._full(key)
        except CacheError as exc:
            self._handle(exc)
            return False
        try:
            removed = self._state.backend().delete(full)
        except CacheBackendError as exc:
            removed = self._failed(exc).delete(full)
        if removed:
            self._stats.add("deletes")
        return removed

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove this namespace's keys matching a glob (``*``, ``?``, ``[abc]``, ``\\``)."""
        full = glob_escape(self._prefix) + pattern
        try:
            removed = self._state.backend().delete_pattern(full)
        except CacheBackendError as exc:
            removed = self._failed(exc).delete_pattern(full)
        self._stats.add("deletes", removed)
        return removed

    def clear(self) -> int:
        """Remove every key of this namespace (and of its views); returns how many."""
        try:
            removed = self._state.backend().clear(self._prefix)
        except CacheBackendError as exc:
            removed = self._failed(exc).clear(self._prefix)
        self._stats.add("deletes", removed)
        return removed

    # -- dogpile-safe compute -------------------------------------------------------------
    def get_or_set(self, key: str, compute: Callable[[], T], ttl: float | None = None) -> T:
        """The cached value of ``key``, else ``compute()`` stored and returned.

        When many threads or processes miss the same key together, one computes while the
        others wait on a per-key lock (memory: thread lock; disk: file lock; Redis: Redis
        lock) and then read its result. A waiter gives up after ``lock_timeout`` seconds and
        computes itself (``on_error='fail'`` raises :class:`LockTimeoutError` instead).
        Exceptions from ``compute`` propagate unchanged; nothing is cached then.
        """
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[no-any-return]
        if type(key) is not str:  # already counted and reported by get()
            return compute()
        full = self._prefix + key
        with ExitStack() as stack:
            try:
                acquired = stack.enter_context(
                    self._state.backend().lock(full, self.lock_timeout)
                )
            except CacheBackendError as exc:
                acquired = stack.enter_context(self._failed(exc).lock(full, self.lock_timeout))
            if acquired:
                value = self._peek(full)
                if value is not _MISSING:
                    return value  # type: ignore[no-any-return]
            else:
                self._stats.add("lock_timeouts")
                if self._fail:
                    raise LockTimeoutError(
                        f"waited {self.lock_timeout} s for the lock on cache key {key!r}"
                    )
                log.warning("qhub cache: lock on %r not free after %s s; computing anyway",
                            key, self.lock_timeout)
            value = compute()
            self.set(key, value, ttl)
        return value

    def _peek(self, full: str) -> Any:
        """Read without counting a lookup or a decode error (re-check after a dogpile wait)."""
        try:
            data = self._state.backend().get(full)
        except CacheBackendError as exc:
            data = self._failed(exc).get(full)
        if data is None:
            return _MISSING
        try:
            return self._loads(data)
        except CacheError:
            return _MISSING  # the lookup just before already counted and reported it

    # -- warming --------------------------------------------------------------------------
    def register_warming_function(
        self,
        name: str,
        fn: Callable[[], Any],
        *,
        key: str | None = None,
        ttl: float | None = None,
    ) -> None:
        """Have :meth:`warm_cache` store ``fn()`` under ``key`` (default: ``name``)."""
        self._warmers[name] = Warmer(name, fn, key or name, ttl)

    def enable_warming(self, enabled: bool = True) -> None:
        """Allow :meth:`warm_cache` to run the registered functions."""
        self._warming_enabled = enabled

    @property
    def warming_enabled(self) -> bool:
        return self._warming_enabled

    def warm_cache(self) -> dict[str, Any]:
        """Run the warming functions (concurrently) and report time and error per function.

        Nothing runs unless :meth:`enable_warming` was called; errors are reported, not raised.
        """
        return run_warmers(self, list(self._warmers.values()), enabled=self._warming_enabled)

    # -- stats ----------------------------------------------------------------------------
    def _views(self) -> list[CacheManager]:
        found = [self]
        for child in self._children.values():
            found.extend(child._views())
        return found

    def _backend_event(self, kind: str, key: str) -> None:
        """Attribute a backend eviction/expiration to the deepest matching namespace."""
        owner: CacheManager | None = None
        for view in self._views():
            if key.startswith(view._prefix) and (
                owner is None or len(view._prefix) > len(owner._prefix)
            ):
                owner = view
        if owner is not None:
            owner._stats.add("evictions" if kind == "eviction" else "expirations")

    def get_stats(self) -> dict[str, Any]:
        """Counters of this manager and its views, backend size and health."""
        views = self._views()
        stats = summarize(view._stats.raw() for view in views)
        state = self._state
        try:
            backend = state.backend()
            size: int | None = backend.count(self._prefix)
            stored = backend.bytes_stored(self._prefix)
        except CacheBackendError as exc:
            self._failed(exc)
            size = stored = None
        stats.update(
            total_size=size,
            bytes_stored=stored,
            backend=state.primary.name,
            active_backend=state.current.name,
            fallback_active=state.degraded,
            outages=state.outages,
            reconnects=state.reconnects,
            last_error=state.last_error,
            namespace=self.namespace,
            namespaces={view.namespace: view._stats.as_dict() for view in views},
        )
        return stats

    def reset_stats(self) -> None:
        for view in self._views():
            view._stats.reset()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def backend(self) -> CacheBackend:
        """The configured backend (not the fallback)."""
        return self._state.primary

    @property
    def fallback_active(self) -> bool:
        return self._state.degraded

    def close(self) -> None:
        """Release the backend's connections and files (views share them)."""
        self._state.close()

    def __enter__(self) -> CacheManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
