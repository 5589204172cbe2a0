"""``CacheManager``: namespaces, TTLs, encoding, stats, dogpile locks and failure handling.

The manager turns values into bytes (:mod:`qhub.cache.serializer`) and keeps them in a
backend under ``"<namespace>:<key>"``. The backend is always wrapped in a
:class:`~qhub.cache.failover.FailoverBackend`, the one place backend failures are handled.
With ``on_error="fallback"`` (the default) no cache failure reaches the caller: backend
outages switch to memory, and stored values that do not decode (damaged, planted, from an
unknown codec, refused pickles) count as misses and errors; damaged ones are deleted if
nobody replaced them meanwhile. With ``on_error="fail"`` those errors are raised as
:class:`qhub.exceptions.CacheError` subclasses. Invalid arguments (a glob that is not
valid, a bad namespace) are raised in both modes: they are the caller's to fix.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import orjson

from qhub._warn import warn
from qhub.cache.backends import backend_from_config, init_backend
from qhub.cache.base import CacheBackend
from qhub.cache.counters import SAMPLE_MASK, CacheStats, summarize
from qhub.cache.failover import FailoverBackend
from qhub.cache.patterns import compile_glob, glob_escape
from qhub.cache.serializer import DEFAULT_MAX_VALUE_BYTES, Serializer
from qhub.cache.serializer import PLAIN_HEADER as _PLAIN
from qhub.cache.warming import Warmer, run_warmers
from qhub.config.schema import CacheSettings
from qhub.exceptions import (
    CacheError,
    ConfigError,
    CorruptValueError,
    LockTimeoutError,
)

if TYPE_CHECKING:
    from qhub.config import QHubConfig

T = TypeVar("T")
_MISSING: Any = object()
_NAME = re.compile(r"^[^:*?\[\]\\\s\x00-\x1f\x7f]+$")
_ROOT_NAME = re.compile(r"^[^*?\[\]\\\s\x00-\x1f\x7f]+$")
ON_ERROR = ("fallback", "fail")
MAX_TTL: float = {f.name: f for f in fields(CacheSettings)}["default_ttl"].metadata["max"]
"""Longest TTL in seconds, the limit of ``cache.default_ttl`` (0 means no expiry). Larger
ones, ``inf`` and ``nan`` overflowed Redis's millisecond expiry and switched the cache to
memory for good."""
MAX_WAIT = 86400.0
"""Longest ``lock_timeout``, ``reconnect_interval`` or ``flush_timeout`` in seconds."""
DEFAULT_COMPRESS_THRESHOLD = 1024
"""Bytes above which values are zlib-compressed on backends that gain from it."""
_perf_ns = time.perf_counter_ns
_json_loads = orjson.loads


def _bad_key(key: object) -> CacheError:
    return CacheError(f"cache keys must be str, got {type(key).__name__}")


def _is_ttl(ttl: object) -> bool:
    """A TTL qhub can hand to every backend: a real number from 0 to MAX_TTL (not nan)."""
    return (
        isinstance(ttl, (int, float))
        and not isinstance(ttl, bool)
        and 0 <= ttl <= MAX_TTL
    )


def _check_name(name: str, what: str, *, allow_colon: bool = False) -> str:
    pattern = _ROOT_NAME if allow_colon else _NAME
    if not isinstance(name, str) or not pattern.match(name):
        colon = "" if allow_colon else "':', "
        raise ConfigError(
            f"{what} {name!r} must be a non-empty string without {colon}'*', '?', '[', ']', "
            "'\\', spaces or control characters (an empty namespace would let clear() "
            "remove every key of a shared store)"
        )
    return name


class CacheManager:
    """A namespaced cache over one backend; see the module docstring for error handling.

    ``ttl`` everywhere: ``None`` uses ``default_ttl``; ``0`` means the value never expires;
    a positive number is seconds. ``default_ttl=0`` makes "never expires" the default.
    ``namespace=None`` means no prefix at all (then ``clear()`` empties the whole store);
    an empty string is refused.
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
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        flush_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        _parent: CacheManager | None = None,
    ) -> None:
        if on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be one of: {', '.join(ON_ERROR)}; got {on_error!r}")
        if not _is_ttl(default_ttl):
            raise ConfigError(
                f"default_ttl must be 0 (no expiry) to {MAX_TTL:,} seconds, got {default_ttl}"
            )
        for name, wait, low in (("lock_timeout", lock_timeout, 0.0),
                                ("reconnect_interval", reconnect_interval, -1.0),
                                ("flush_timeout", flush_timeout, -1.0)):
            if not (isinstance(wait, (int, float)) and low < wait <= MAX_WAIT):
                raise ConfigError(
                    f"{name} must be {'> 0' if low == 0 else '0'} to {MAX_WAIT:g} seconds, "
                    f"got {wait}"
                )
        if namespace is not None:
            # a root namespace may hold ':' ("team:suite"); a view's name may not
            _check_name(namespace, "namespace", allow_colon=_parent is None)
        self._store: FailoverBackend
        self._serializer: Serializer
        self._prefix: str
        self._warming_enabled: bool
        if _parent is not None:
            # a view: the parent's store and encoding, keys under the parent's prefix
            self._store = _parent._store
            self._serializer = _parent._serializer
            prefix = _parent._prefix
        else:
            primary = init_backend(backend)
            self._store = FailoverBackend(
                primary,
                fail=on_error == "fail",
                reconnect_interval=reconnect_interval,
                clock=clock,
                fallback_size=fallback_size,
                flush_timeout=flush_timeout,
            )
            if compress_threshold == "auto":
                # in-process stores gain nothing from zlib: it only costs time on every call
                compress_threshold = DEFAULT_COMPRESS_THRESHOLD if primary.compresses else None
            self._serializer = Serializer(
                compress_threshold=compress_threshold,
                allow_pickle=allow_pickle,
                pickle_secret=pickle_secret,
                max_value_bytes=max_value_bytes,
            )
            prefix = ""
        self._loads = self._serializer.loads
        self._dumps = self._serializer.dumps
        self._fail = on_error == "fail"
        self._on_error = on_error
        self.default_ttl = default_ttl
        self.lock_timeout = lock_timeout
        self.namespace = f"{prefix}{namespace}" if namespace is not None else prefix[:-1]
        self._prefix = f"{self.namespace}:" if self.namespace else ""
        self._stats = CacheStats()
        self._children: dict[str, CacheManager] = {}
        self._parent = _parent
        self._warmers: dict[str, Warmer] = {}
        self._warming_enabled = _parent._warming_enabled if _parent is not None else False
        if _parent is None:
            self._store.add_listener(self._backend_event)

    @classmethod
    def from_config(
        cls,
        config: QHubConfig,
        *,
        backend: str | None = None,
        namespace: str | None = None,
        on_error: str | None = None,
        create: bool = True,
        readonly: bool = False,
    ) -> CacheManager:
        """A manager on the configured backend with every ``cache.*`` setting applied.

        ``backend`` overrides ``cache.backend`` (memory, disk, redis, layered, a URL or path);
        ``namespace`` overrides ``cache.namespace``; ``on_error`` overrides
        ``cache.on_error``; ``create``/``readonly`` reach the disk backend (read-only
        commands create nothing). ``cache.enabled`` is not checked here: callers decide
        whether to build a cache at all. ``cache.enable_warming`` turns warming on; the
        caller registers functions and calls :meth:`warm_cache`.
        """
        cache = config.cache
        chosen = cache.namespace if namespace is None else namespace
        where = "the command line" if namespace is not None else config.origin(
            "cache.namespace"
        )
        if not chosen:
            raise ConfigError(
                f"cache.namespace='' (from {where}): must not be empty; an empty namespace "
                "would make 'qhub cache clear' delete every key of a shared Redis database"
            )
        if not _ROOT_NAME.match(chosen):
            raise ConfigError(
                f"cache.namespace={chosen!r} (from {where}): must not contain spaces, control "
                "or glob characters (* ? [ ] \\)"
            )
        manager = cls(
            backend_from_config(config, backend, create=create, readonly=readonly),
            namespace=chosen,
            default_ttl=cache.default_ttl,
            on_error=on_error or cache.on_error,
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
            max_value_bytes=cache.max_value_bytes,
            flush_timeout=cache.flush_timeout,
        )
        if cache.enable_warming:
            manager.enable_warming()
        return manager

    def namespaced(self, name: str) -> CacheManager:
        """A view on the same backend whose keys live under ``<namespace>:<name>:``.

        It has its own stats (also counted in this manager's totals) and its own warming
        functions; ``clear()`` on it removes only its keys. The same name gives the same view.
        """
        _check_name(name, "namespace")
        view = self._children.get(name)
        if view is None:
            view = self._children[name] = CacheManager(
                namespace=name,
                default_ttl=self.default_ttl,
                on_error=self._on_error,
                lock_timeout=self.lock_timeout,
                _parent=self,
            )
        return view

    def __repr__(self) -> str:
        return f"CacheManager({self._store.primary!r}, namespace={self.namespace!r})"

    # -- errors ---------------------------------------------------------------------------
    def _handle(self, exc: CacheError) -> None:
        """Count ``exc``; raise it with ``on_error='fail'``, else warn once per kind."""
        self._stats.add("errors")
        if self._fail:
            raise exc
        kind = type(exc).__name__
        warn(f"cache: {exc} (further {kind} errors are logged at debug level)",
             once=f"cache:{kind}")

    def _undecodable(self, full: str, data: bytes, exc: Exception) -> None:
        """A stored value did not decode: delete it if damaged and unchanged, then report."""
        error = exc if isinstance(exc, CacheError) else CorruptValueError(
            f"stored value is damaged: {exc}"
        )
        if isinstance(error, CorruptValueError):
            # a failure is counted by the store; the value stays a miss either way
            with contextlib.suppress(CacheError):
                self._store.delete_if(full, data)
        self._handle(error)

    def _full(self, key: str) -> str:
        if type(key) is not str:
            raise _bad_key(key)
        return self._prefix + key

    def _ttl(self, ttl: float | None) -> float | None:
        if ttl is None:
            ttl = self.default_ttl
        if not _is_ttl(ttl):
            raise CacheError(f"ttl must be 0 (no expiry) to {MAX_TTL:,} seconds, got {ttl!r}")
        return ttl or None

    # -- reading --------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The cached value (a fresh copy), or ``default`` when missing, expired or unreadable."""
        # Hot path: locals instead of repeated attribute lookups, lock-free counters, and
        # latency timed on one call in SAMPLE_EVERY (see qhub.cache.counters).
        stats = self._stats
        timed = not stats.get_tick() & SAMPLE_MASK
        start = _perf_ns() if timed else 0
        if type(key) is not str:
            self._handle(_bad_key(key))
            return default
        full = self._prefix + key
        data = self._store.get(full)
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
            self._undecodable(full, data, exc)
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
        found = self._store.get_many(wanted)
        out: dict[str, Any] = {}
        for full, data in found.items():
            try:
                out[wanted[full]] = self._loads(data)
            except CacheError as exc:
                self._undecodable(full, data, exc)
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
        self._store.set(self._prefix + key, data, seconds)
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
        self._store.set_many(encoded, seconds)
        self._stats.stored(len(encoded), _perf_ns() - start)
        return True

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        try:
            full = self._full(key)
        except CacheError as exc:
            self._handle(exc)
            return False
        removed = self._store.delete(full)
        if removed:
            self._stats.add("deletes")
        return removed

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove this namespace's keys matching a glob, with Redis's meaning on every backend.

        ``*``, ``?``, ``[abc]``, ``[a-z]``, ``[^a]`` and ``\\`` escapes (see
        :mod:`qhub.cache.patterns`). An invalid pattern such as ``[z-a]`` raises
        :class:`qhub.exceptions.PatternError` and removes nothing, whatever ``on_error``.
        """
        compile_glob(pattern)
        removed = self._store.delete_pattern(glob_escape(self._prefix) + pattern)
        self._stats.add("deletes", removed)
        return removed

    def clear(self) -> int:
        """Remove every key of this namespace (and of its views); returns how many."""
        removed = self._store.clear(self._prefix)
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
        with self._store.lock(full, self.lock_timeout) as acquired:
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
                warn(f"cache: lock on {key!r} not free after {self.lock_timeout:g} s; "
                     "computing anyway", once="cache:lock-timeout")
            value = compute()
            self.set(key, value, ttl)
        return value

    def _peek(self, full: str) -> Any:
        """Read without counting a lookup or a decode error (re-check after a dogpile wait)."""
        data = self._store.get(full)
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

    def stats(self) -> dict[str, Any]:
        """Counters of this manager and its views, backend size and health.

        Backend failures are counted once, in the ``errors`` of the manager that owns the
        backend (the root of its views).
        """
        views = self._views()
        stats = summarize(view._stats.raw() for view in views)
        store = self._store
        try:
            size: int | None = store.count(self._prefix)
            stored = store.bytes_stored(self._prefix)
        except CacheError:
            if self._fail:
                raise
            size = stored = None
        if self._parent is None:
            stats["errors"] += store.errors
        stats.update(
            total_size=size,
            bytes_stored=stored,
            backend=store.primary.name,
            active_backend=store.current.name,
            fallback_active=store.degraded,
            outages=store.outages,
            reconnects=store.reconnects,
            last_error=store.last_error,
            namespace=self.namespace,
            namespaces={view.namespace: view._stats.as_dict() for view in views},
        )
        return stats

    get_stats = stats
    """The reference document's name for :meth:`stats`."""

    def reset_stats(self) -> None:
        for view in self._views():
            view._stats.reset()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def backend(self) -> CacheBackend:
        """The configured backend (not the fallback)."""
        return self._store.primary

    @property
    def fallback_active(self) -> bool:
        return self._store.degraded

    def flush(self, timeout: float | None = None) -> int:
        """Save what a backend outage owes the backend now (see :meth:`close`).

        Returns how many changes are still unsaved; ``timeout`` defaults to
        ``flush_timeout``.
        """
        return self._store.flush(timeout)

    def close(self) -> None:
        """Save what an outage owes the backend (within ``flush_timeout``), then release its
        connections and files (views share them). Unsaved changes are named in one warning."""
        self._store.close()

    def __enter__(self) -> CacheManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cache_from_config(
    config: QHubConfig, *, backend: str | None = None, namespace: str | None = None
) -> CacheManager:
    """Same as :meth:`CacheManager.from_config` (the name earlier releases exported)."""
    return CacheManager.from_config(config, backend=backend, namespace=namespace)
