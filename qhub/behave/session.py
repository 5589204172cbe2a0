"""``context.qhub``: the per-run session that owns qhub's tools and shuts them down once.

Starting a session resolves the configuration and the profiler only; the cache, the test
data and the API clients are built on first use (each under :func:`qhub._overhead.charged`,
so the time is shown as qhub's, not as the step's that first touched them). A run that
never uses the cache never opens it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from qhub._overhead import charged
from qhub._warn import warn
from qhub.config import QHubConfig, load_config
from qhub.exceptions import ConfigError

if TYPE_CHECKING:
    from qhub.api import BaseAPIClient
    from qhub.cache import CacheManager
    from qhub.data import TestData
    from qhub.profiling import BehaveObserver, PerformanceProfiler

log = logging.getLogger("qhub")


_NO_API = (
    "context.api is not configured: set api.base_url (QHUB_API_BASE_URL, "
    "-D qhub.api.base_url=URL, [tool.qhub.api] base_url, or "
    "install(context, overrides={'api.base_url': URL}))"
)


class MissingAPI:
    """Stands in for ``context.api`` when no ``api.base_url`` is configured.

    Any use raises a :class:`ConfigError` that says how to configure one.
    """

    def __getattr__(self, name: str) -> Any:
        raise ConfigError(_NO_API)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<qhub: no API configured>"


@dataclass
class QHubSession:
    """qhub's tools for one behave run, available as ``context.qhub``."""

    config: QHubConfig
    userdata: Mapping[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    observer: BehaveObserver | None = None
    profiler: PerformanceProfiler | None = None
    defer_summary: bool = False
    """Print the terminal summary later (with behave's summary), via :meth:`print_summary`."""
    features: Callable[[], Iterable[Any]] | None = None
    """behave's features of the run (``runner.features``), so totals count features that
    were skipped as a whole, as behave does."""
    _clients: dict[str, BaseAPIClient] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _cache: CacheManager | None = None
    _data: TestData | None = None
    _closed: bool = False

    @classmethod
    def start(
        cls, userdata: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
    ) -> QHubSession:
        """Resolve config and build every enabled tool (fails fast on bad config)."""
        session = cls(
            config=load_config(userdata=userdata, overrides=overrides or {}),
            userdata=dict(userdata),
            overrides=dict(overrides or {}),
        )
        session._build()
        return session

    def _build(self) -> None:
        """Build what every run needs; everything else waits for first use."""
        cfg = self.config
        from qhub.profiling import BehaveObserver, PerformanceProfiler

        if cfg.profiling.enabled:
            self.observer = BehaveObserver(cfg)
            self.profiler = self.observer.profiler
        else:
            self.profiler = PerformanceProfiler(enable_memory_profiling=False)

    @property
    def cache(self) -> CacheManager | None:
        """The cache manager (``None`` when caching is off), built on first use."""
        if self._cache is None and self.config.cache.enabled and not self._closed:
            with self._lock, charged("cache set-up"):
                if self._cache is None:
                    from qhub.cache import cache_from_config

                    self._cache = cache_from_config(self.config)
        return self._cache

    @property
    def data(self) -> TestData | None:
        """Cached test data (``None`` when off), built on first use."""
        if self._data is None and self.config.data.enabled and not self._closed:
            with self._lock, charged("test data set-up"):
                if self._data is None:
                    from qhub.data import data_from_config

                    self._data = data_from_config(self.config, self.cache)
        return self._data

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (reports flushed, pools and caches closed)."""
        return self._closed

    def api(self, name: str | None = None) -> BaseAPIClient:
        """The pooled client of the default API, or of ``apis.<name>`` (created once)."""
        key = name or "default"
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock, charged(f"API client {key!r} set-up"):
            client = self._clients.get(key)
            if client is None:
                settings = self.config.api_settings(name)
                if not settings.base_url:
                    raise ConfigError(_NO_API)
                from qhub.api import APIClient

                client = APIClient.from_config(settings, name=key, root=self.config.root)
                self._clients[key] = client
            return client

    @property
    def default_api(self) -> BaseAPIClient | MissingAPI:
        """What ``context.api`` is: the default client, or a :class:`MissingAPI`."""
        return self.api() if self.config.api.base_url else MissingAPI()

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Re-resolve config with more overrides (a second ``install(..., overrides=)``).

        API clients are rebuilt on next use; cache, data and profiler are kept (they hold
        run state).
        """
        merged = {**self.overrides, **overrides}
        self.config = load_config(userdata=self.userdata, overrides=merged)
        self.overrides = merged
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def stats(self) -> dict[str, Any]:
        """Everything the run summary and reports show besides timings."""
        out: dict[str, Any] = {}
        with self._lock:
            clients = dict(self._clients)
        if clients:
            out["api"] = {n: c.stats() for n, c in clients.items()}
            out["api_endpoints"] = {n: c.endpoint_stats() for n, c in clients.items()}
            out["api_budgets"] = {n: c.latency_budget_report() for n, c in clients.items()}
        if self._cache is not None:
            out["cache"] = self._cache.stats()
        if self._data is not None:
            out["data"] = self._data.stats()
        return out

    def close(self) -> None:
        """Flush reports, then close pools and caches. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        steps = [
            ("report", self._finish_reports),
            ("api", self._close_clients),
            ("data", lambda: self._data.close() if self._data is not None else None),
            ("cache", lambda: self._cache.close() if self._cache is not None else None),
        ]
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                warn(f"closing {what} failed: {exc}")

    def _finish_reports(self) -> None:
        if self.observer is not None:
            try:
                stats = self.stats()
            except Exception as exc:
                warn(f"collecting stats failed: {exc}")
                stats = {}
            features = None
            if self.features is not None:
                try:
                    features = list(self.features())
                except Exception:  # behave's runner is gone (atexit after a crash)
                    features = None
            self.observer.finish(stats, defer_summary=self.defer_summary, features=features)

    def print_summary(self, stream: TextIO | None = None) -> None:
        """Print a summary deferred by :attr:`defer_summary` (once; no-op otherwise)."""
        if self.observer is not None:
            self.observer.print_summary(stream)

    def _close_clients(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
