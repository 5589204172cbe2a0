"""The typed settings qhub understands, with defaults and limits, in one place.

Each section is a frozen dataclass. A field's ``metadata`` carries what validation needs
(``min``, ``max``, ``choices``) and a one-line ``help`` shown in errors and ``qhub doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def setting(
    default: Any,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
) -> Any:
    """Declare one setting: its default, a one-line help and its limits."""
    meta = {"help": help, "min": min, "max": max, "choices": choices, "secret": secret}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ApiSettings:
    """One HTTP API that steps talk to through a pooled :class:`qhub.APIClient`.

    The client's constructor defaults and limits are read from here (one source of truth).
    """

    base_url: str | None = setting(None, "root URL every request path is joined to")
    pool_connections: int = setting(10, "number of per-host connection pools", min=1)
    pool_maxsize: int = setting(20, "connections kept per host pool", min=1)
    pool_block: bool = setting(False, "wait for a free connection instead of opening extras")
    enable_warmup: bool = setting(True, "pre-open connections when the client starts")
    warmup_connections: int = setting(2, "connections opened by warm-up", min=0, max=1000)
    warmup_path: str = setting("/", "path requested (HEAD) by warm-up")
    connect_timeout: float = setting(5.0, "seconds to wait for a TCP/TLS connect", min=0.001)
    read_timeout: float = setting(30.0, "seconds to wait for response bytes", min=0.001)
    total_timeout: float = setting(
        300.0, "seconds one request may take in all: connect, retries, body", min=0.001,
        max=86400,
    )
    retries: int = setting(3, "retries for idempotent requests and connect errors", min=0)
    backoff_factor: float = setting(0.1, "exponential back-off factor between retries", min=0)
    retry_statuses: list[int] = setting([502, 503, 504], "HTTP statuses retried")
    verify: bool = setting(True, "verify TLS certificates")
    ca_bundle: str | None = setting(None, "path of a CA bundle for TLS verification")
    headers: dict[str, str] = setting({}, "headers sent with every request", secret=True)
    auth_token: str | None = setting(None, "bearer token sent as Authorization", secret=True)
    rate_limit: float | None = setting(None, "client-side limit in requests/s", min=0.001)
    rate_burst: int = setting(1, "requests allowed at once by the rate limiter", min=1)
    latency_budgets_ms: dict[str, float] = setting(
        {}, "p95 latency budget in ms per endpoint, e.g. {'GET /pets/{id}': 150}"
    )
    schemas_dir: str = setting("schemas", "folder of JSON Schema files for response checks")
    max_response_mb: float = setting(
        64.0, "largest response body read into memory, after decompression, in MB",
        min=0.001, max=4096,
    )
    short_path: bool = setting(
        True, "send plain requests straight to urllib3 (false: all through requests.Session)"
    )


@dataclass(frozen=True)
class RedisSettings:
    """Where the Redis cache backend connects."""

    url: str | None = setting(None, "redis:// or rediss:// URL (wins over host/port/db)")
    host: str = setting("127.0.0.1", "Redis host")
    port: int = setting(6379, "Redis port", min=1, max=65535)
    db: int = setting(0, "Redis database number", min=0)
    password: str | None = setting(None, "Redis AUTH password", secret=True)
    socket_timeout: float = setting(2.0, "seconds before a Redis call gives up", min=0.001)


@dataclass(frozen=True)
class CacheSettings:
    """The cache behind ``context.cache`` and cached test data."""

    enabled: bool = setting(True, "turn caching on")
    backend: str = setting(
        "disk", "where values live", choices=("memory", "disk", "redis", "layered")
    )
    default_ttl: int = setting(3600, "seconds a value lives (0 = no expiry)", min=0)
    max_size: int = setting(1000, "items kept by the memory backend", min=1)
    eviction: str = setting("lru", "memory eviction policy", choices=("lru", "lfu", "fifo", "ttl"))
    namespace: str = setting("qhub", "key prefix that isolates this suite's keys")
    path: str = setting(".qhub/cache.db", "SQLite file of the on-disk backend")
    on_error: str = setting("fallback", "what a backend failure does", choices=("fallback", "fail"))
    compress_threshold: int = setting(
        1024, "bytes above which disk/Redis values are compressed (memory: never unless set)", min=0
    )
    allow_pickle: bool = setting(False, "allow signed pickle values (needs pickle_secret)")
    pickle_secret: str | None = setting(None, "HMAC key that signs pickle values", secret=True)
    enable_warming: bool = setting(False, "run registered warming functions at start-up")
    layered_front_size: int = setting(256, "memory items in front of redis/disk", min=1)
    lock_timeout: float = setting(30.0, "seconds a dogpile lock is held at most", min=0.01)


@dataclass(frozen=True)
class DataSettings:
    """Cached Faker test data (``context.data``)."""

    enabled: bool = setting(True, "turn cached test data on")
    locale: str = setting("en_US", "Faker locale")
    seed: int = setting(1234, "seed: the same seed gives the same data everywhere", min=0)
    templates_dir: str = setting("data", "folder of YAML/JSON record templates")
    cache_ttl: int = setting(86400, "seconds generated data stays cached (0 = forever)", min=0)
    backend: str = setting(
        "inherit",
        "cache backend for test data ('inherit' uses cache.backend)",
        choices=("inherit", "memory", "disk", "redis", "layered"),
    )


@dataclass(frozen=True)
class ProfilingSettings:
    """Per-step timing, memory, run history, baselines and budgets."""

    enabled: bool = setting(True, "time every step, scenario, feature and hook")
    memory: bool = setting(True, "sample RSS before and after each step")
    tracemalloc: bool = setting(False, "record a tracemalloc peak per step (slow)")
    history_db: str = setting(".qhub/history.db", "SQLite file holding run history")
    history_retention: int = setting(200, "runs kept in history", min=1)
    baseline_file: str | None = setting(None, "JSON baseline to compare runs against")
    regression_threshold_percent: float = setting(20.0, "slowdown that counts", min=0)
    noise_floor_ms: float = setting(2.0, "slowdowns below this many ms are ignored", min=0)
    leak_threshold_mb: float = setting(10.0, "RSS growth over the run that is a leak", min=0)
    budget_step_p95_ms: float | None = setting(None, "p95 budget per step definition", min=0)
    budget_scenario_ms: float | None = setting(None, "budget per scenario", min=0)
    budget_rss_growth_mb: float | None = setting(None, "RSS growth budget per scenario", min=0)
    fail_on_budget: bool = setting(False, "make `qhub check` fail on budget violations")


@dataclass(frozen=True)
class ReportSettings:
    """What is written at the end of a run."""

    dir: str = setting("reports", "folder for JSON/HTML reports")
    formats: list[str] = setting(
        ["json", "html"], "report files written: json, html, markdown, prometheus"
    )
    summary: bool = setting(True, "print the summary at the end of the run")
    top: int = setting(10, "rows in the summary's tables", min=1)


@dataclass(frozen=True)
class ImportSettings:
    """Import auditing and lazy loading."""

    enabled: bool = setting(True, "turn import optimisation on")
    lazy_modules: list[str] = setting([], "modules loaded lazily by ImportOptimizer")
    heavy_threshold_ms: float = setting(50.0, "cumulative import cost that counts as heavy", min=0)
    paths: list[str] = setting([], "paths `qhub audit` checks (default: steps + environment)")
    fail_on: str = setting(
        "error", "lowest severity that fails `qhub audit`", choices=("info", "warning", "error")
    )
    timeout_s: float = setting(20.0, "seconds allowed to time one module's import", min=0.1)


SECTIONS: dict[str, type] = {
    "api": ApiSettings,
    "redis": RedisSettings,
    "cache": CacheSettings,
    "data": DataSettings,
    "profiling": ProfilingSettings,
    "report": ReportSettings,
    "imports": ImportSettings,
}
"""Section name -> dataclass. ``apis.<name>`` sections reuse :class:`ApiSettings`."""

NAMED_API_SECTION = "apis"

LEGACY_ENV: dict[str, str] = {
    "CACHE_BACKEND": "cache.backend",
    "CACHE_TTL": "cache.default_ttl",
    "CACHE_MAX_SIZE": "cache.max_size",
    "REDIS_URL": "redis.url",
    "REDIS_HOST": "redis.host",
    "REDIS_PORT": "redis.port",
    "REDIS_DB": "redis.db",
    "REDIS_PASSWORD": "redis.password",
    "ENABLE_PERFORMANCE_PROFILING": "profiling.enabled",
    "ENABLE_MEMORY_PROFILING": "profiling.memory",
    "PERFORMANCE_BASELINE_FILE": "profiling.baseline_file",
    "API_POOL_CONNECTIONS": "api.pool_connections",
    "API_POOL_MAXSIZE": "api.pool_maxsize",
    "API_ENABLE_WARMUP": "api.enable_warmup",
}
"""The reference document's environment variable names; ``QHUB_<same>`` wins over each."""

SEED_JSON_LAYOUT: dict[str, dict[str, str]] = {
    "caching": {
        "enabled": "cache.enabled",
        "backend": "cache.backend",
        "default_ttl": "cache.default_ttl",
        "max_size": "cache.max_size",
        "enable_warming": "cache.enable_warming",
    },
    "connection_pooling": {
        "pool_connections": "api.pool_connections",
        "pool_maxsize": "api.pool_maxsize",
        "pool_block": "api.pool_block",
        "enable_warmup": "api.enable_warmup",
    },
    "profiling": {
        "enabled": "profiling.enabled",
        "enable_memory_profiling": "profiling.memory",
        "baseline_file": "profiling.baseline_file",
        "regression_threshold_percent": "profiling.regression_threshold_percent",
    },
    "import_optimization": {
        "enabled": "imports.enabled",
        "lazy_loading_modules": "imports.lazy_modules",
    },
}
"""The reference document's ``{"performance": {...}}`` JSON layout, mapped to our keys."""

RESERVED_ENV = frozenset({"QHUB_CONFIG", "QHUB_WORKER_ID", "QHUB_RUN_ID", "QHUB_HOME"})
"""``QHUB_*`` variables that are not settings (file location, worker identity)."""
