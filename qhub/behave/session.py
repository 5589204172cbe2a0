"""``context.qhub``: the per-run session that owns qhub's tools and shuts them down once."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    cache: CacheManager | None = None
    data: TestData | None = None
    defer_summary: bool = False
    """Print the terminal summary later (after behave's totals), via :meth:`print_summary`."""
    _clients: dict[str, BaseAPIClient] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
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
        cfg = self.config
        from qhub.profiling import BehaveObserver, PerformanceProfiler

        if cfg.profiling.enabled:
            self.observer = BehaveObserver(cfg)
            self.profiler = self.observer.profiler
        else:
            self.profiler = PerformanceProfiler(enable_memory_profiling=False)
        if cfg.cache.enabled:
            from qhub.cache import cache_from_config

            self.cache = cache_from_config(cfg)
        if cfg.data.enabled:
            from qhub.data import data_from_config

            self.data = data_from_config(cfg, self.cache)
        if cfg.api.base_url:
            self.api()
        for name in cfg.apis:
            self.api(name)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran (reports flushed, pools and caches closed)."""
        return self._closed

    def api(self, name: str | None = None) -> BaseAPIClient:
        """The pooled client of the default API, or of ``apis.<name>`` (created once)."""
        key = name or "default"
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                settings = self.config.api_settings(name)
                if not settings.base_url:
                    raise ConfigError(_NO_API)
                from qhub.api import client_from_settings

                client = client_from_settings(settings, name=key, root=self.config.root)
                self._clients[key] = client
            return client

    @property
    def default_api(self) -> BaseAPIClient | MissingAPI:
        """What ``context.api`` is: the default client, or a :class:`MissingAPI`."""
        return self.api() if self.config.api.base_url else MissingAPI()

    def apply_overrides(self, overrides: Mapping[str, Any]) -> None:
        """Re-resolve config with more overrides (a second ``install(..., overrides=)``).

        API clients are rebuilt; cache, data and profiler are kept (they hold run state).
        """
        merged = {**self.overrides, **overrides}
        self.config = load_config(userdata=self.userdata, overrides=merged)
        self.overrides = merged
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
        if self.config.api.base_url:
            self.api()

    def stats(self) -> dict[str, Any]:
        """Everything the run summary and reports show besides timings."""
        out: dict[str, Any] = {}
        with self._lock:
            clients = dict(self._clients)
        if clients:
            out["api"] = {n: c.get_pool_stats() for n, c in clients.items()}
            out["api_endpoints"] = {n: c.endpoint_stats() for n, c in clients.items()}
            out["api_budgets"] = {n: c.latency_budget_report() for n, c in clients.items()}
        if self.cache is not None:
            out["cache"] = self.cache.get_stats()
        if self.data is not None:
            out["data"] = self.data.get_cache_performance_metrics()
        return out

    def close(self) -> None:
        """Flush reports, then close pools and caches. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        steps = [
            ("report", self._finish_reports),
            ("api", self._close_clients),
            ("data", lambda: self.data.close() if self.data is not None else None),
            ("cache", lambda: self.cache.close() if self.cache is not None else None),
        ]
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                print(f"qhub: warning: closing {what} failed: {exc}", file=sys.stderr)

    def _finish_reports(self) -> None:
        if self.observer is not None:
            try:
                stats = self.stats()
            except Exception as exc:
                print(f"qhub: warning: collecting stats failed: {exc}", file=sys.stderr)
                stats = {}
            self.observer.finish(stats, defer_summary=self.defer_summary)

    def print_summary(self) -> None:
        """Print a summary deferred by :attr:`defer_summary` (once; no-op otherwise)."""
        if self.observer is not None:
            self.observer.print_summary()

    def _close_clients(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
