"""The typed settings qhub understands, with defaults and limits, in one place.

Each section is a frozen dataclass. A field's ``metadata`` carries what validation needs
(``min``, ``max``, ``choices``) and a one-line ``help`` shown in errors and ``qhub doctor``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from qhub._record import frozen_record

_TEN_YEARS_S = 10 * 365 * 86_400
_DAY_MS = 86_400_000
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_GLOB_CHARS = frozenset("*?[]\\")


def _check_headers(headers: dict[str, str]) -> str | None:
    """HTTP header names are tokens; values have no line breaks (no header injection)."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            return f"header name {name!r} is not a valid HTTP header name"
        if any(ch in value for ch in "\r\n\x00"):
            return f"header {name!r} has a line break or NUL in its value"
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _check_base_url(url: str) -> str | None:
    """``http(s)://host[:port][/path]``: anything else fails at every request."""
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must start with http:// or https:// and name a host"
    if port == 0 or parts.fragment:
        return "must not have port 0 or a #fragment"
    return None


def _check_token(token: str) -> str | None:
    """Sent as ``Authorization: Bearer <token>``: a line break would inject a header."""
    if not token.strip() or " " in token or _CONTROL.search(token):
        return "must be one word without spaces, line breaks or control characters"
    return None


def _check_request_path(path: str) -> str | None:
    if not path.startswith("/") or " " in path or not path.isprintable():
        return "must be a path starting with '/', without spaces or control characters"
    return None


def _check_file_path(path: str) -> str | None:
    if "\x00" in path or not path.strip():
        return "must be a file or folder path"
    return None


def _check_budgets(budgets: dict[str, float]) -> str | None:
    for endpoint, ms in budgets.items():
        if not 0 < ms <= _DAY_MS:
            return f"budget for {endpoint!r} must be a number of ms above 0 and at most a day"
    return None


def _check_history_url(url: str | None) -> str | None:
    """Only PostgreSQL URLs: SQLite is the embedded default (``history_db``)."""
    if url is None:
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("postgresql", "postgres"):
        return "must be a postgresql:// URL (SQLite is profiling.history_db)"
    if any(ch in url for ch in "\r\n\x00"):
        return "must not contain line breaks or NUL"
    return None


def _check_namespace(namespace: str) -> str | None:
    """An empty namespace would make ``cache clear`` match every key of a shared Redis db."""
    if not namespace or len(namespace) > 200:
        return "must be 1 to 200 characters (an empty namespace would share every key)"
    if any(ch.isspace() or ch in _GLOB_CHARS or not ch.isprintable() for ch in namespace):
        return "must not contain spaces, control or glob characters (* ? [ ] \\)"
    return None


@functools.lru_cache(maxsize=1)
def faker_locales() -> frozenset[str]:
    """Locales the installed Faker has, read from its package folders (Faker not imported).

    Faker builds its own list (``faker.config.AVAILABLE_LOCALES``) the same way, from the
    locale sub-packages of its providers; importing it costs what a warm run saves.
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("faker")
    found: set[str] = set()
    for root in (spec.submodule_search_locations or []) if spec else []:
        providers = os.path.join(root, "providers")
        if not os.path.isdir(providers):
            continue
        for group in os.scandir(providers):
            if group.is_dir() and not group.name.startswith("_"):
                found.update(
                    entry.name
                    for entry in os.scandir(group.path)
                    if entry.is_dir() and not entry.name.startswith("_")
                    and os.path.exists(os.path.join(entry.path, "__init__.py"))
                )
    return frozenset(found)


def _check_locale(locale: str) -> str | None:
    """An unknown Faker locale would fail only when data is first generated."""
    if locale == "en_US":  # the default: no folder scan on the usual start-up
        return None
    known = faker_locales()
    if not known or locale.replace("-", "_") in known:
        return None
    import difflib

    close = difflib.get_close_matches(locale.replace("-", "_"), sorted(known), n=3)
    return "must be a Faker locale" + (f" (did you mean {', '.join(close)}?)" if close else "")


def setting(
    default: Any,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Declare one setting: its default, a one-line help and its limits.

    ``min``/``max`` bound numbers (and each number of a list); ``choices`` bound text (and
    each item of a list); ``check`` returns a reason when a value is not acceptable.
    """
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "choices": choices,
        "secret": secret,
        "check": check,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


CACHE_BACKENDS = ("memory", "disk", "redis", "layered")
"""Names of the cache backends: the one list the registry (:mod:`qhub.cache.backends`) and
the validation of ``cache.backend`` and ``data.backend`` use."""


@frozen_record(slots=False)
class ApiSettings:
    """One HTTP API that steps talk to through a pooled :class:`qhub.APIClient`.

    The client's constructor defaults and limits are read from here (one source of truth).
    """

    base_url: str | None = setting(
        None, "root URL every request path is joined to", check=_check_base_url
    )
    pool_connections: int = setting(10, "number of per-host connection pools", min=1, max=1000)
    pool_maxsize: int = setting(20, "connections kept per host pool", min=1, max=10_000)
    pool_block: bool = setting(False, "wait for a free connection instead of opening extras")
    enable_warmup: bool = setting(True, "pre-open connections when the client starts")
    warmup_connections: int = setting(2, "connections opened by warm-up", min=0, max=1000)
    warmup_path: str = setting(
        "/", "path requested (HEAD) by warm-up", check=_check_request_path
    )
    connect_timeout: float = setting(
        5.0, "seconds to wait for a TCP/TLS connect", min=0.001, max=3600
    )
    read_timeout: float = setting(30.0, "seconds to wait for response bytes", min=0.001, max=86_400)
    total_timeout: float = setting(
        300.0, "seconds one request may take in all: connect, retries, body", min=0.001,
        max=86_400,
    )
    retries: int = setting(3, "retries for idempotent requests and connect errors", min=0, max=100)
    backoff_factor: float = setting(
        0.1, "exponential back-off factor between retries", min=0, max=60
    )
    retry_statuses: list[int] = setting([502, 503, 504], "HTTP statuses retried", min=100, max=599)
    verify: bool = setting(True, "verify TLS certificates")
    ca_bundle: str | None = setting(
        None, "path of a CA bundle for TLS verification", check=_check_file_path
    )
    headers: dict[str, str] = setting(
        {}, "headers sent with every request", secret=True, check=_check_headers
    )
    auth_token: str | None = setting(
        None, "bearer token sent as Authorization", secret=True, check=_check_token
    )
    rate_limit: float | None = setting(
        None, "client-side limit in requests/s", min=0.001, max=1_000_000
    )
    rate_burst: int = setting(
        1, "requests allowed at once by the rate limiter", min=1, max=1_000_000
    )
    latency_budgets_ms: dict[str, float] = setting(
        {},
        "p95 latency budget in ms per endpoint, e.g. {'GET /pets/{id}': 150}",
        check=_check_budgets,
    )
    schemas_dir: str = setting(
        "schemas", "folder of JSON Schema files for response checks", check=_check_file_path
    )
    max_response_mb: float = setting(
        64.0, "largest response body read into memory, after decompression, in MB",
        min=0.001, max=4096,
    )
    short_path: bool = setting(
        True, "send plain requests straight to urllib3 (false: all through requests.Session)"
    )


@frozen_record(slots=False)
class RedisSettings:
    """Where the Redis cache backend connects."""

    url: str | None = setting(None, "redis:// or rediss:// URL (wins over host/port/db)")
    host: str = setting("127.0.0.1", "Redis host")
    port: int = setting(6379, "Redis port", min=1, max=65535)
    db: int = setting(0, "Redis database number", min=0, max=100_000)
    password: str | None = setting(None, "Redis AUTH password", secret=True)
    socket_timeout: float = setting(
        2.0, "seconds before a Redis call gives up", min=0.001, max=3600
    )


@frozen_record(slots=False)
class CacheSettings:
    """The cache behind ``context.cache`` and cached test data."""

    enabled: bool = setting(True, "turn caching on")
    backend: str = setting("disk", "where values live", choices=CACHE_BACKENDS)
    default_ttl: int = setting(
        3600, "seconds a value lives (0 = no expiry)", min=0, max=_TEN_YEARS_S
    )
    max_size: int = setting(1000, "items kept by the memory backend", min=1, max=100_000_000)
    eviction: str = setting("lru", "memory eviction policy", choices=("lru", "lfu", "fifo", "ttl"))
    namespace: str = setting(
        "qhub", "key prefix that isolates this suite's keys", check=_check_namespace
    )
    path: str = setting(".qhub/cache.db", "SQLite file of the on-disk backend")
    on_error: str = setting("fallback", "what a backend failure does", choices=("fallback", "fail"))
    compress_threshold: int = setting(
        1024,
        "bytes above which disk/Redis values are compressed (memory: never unless set)",
        min=0,
        max=1 << 30,
    )
    allow_pickle: bool = setting(False, "allow signed pickle values (needs pickle_secret)")
    pickle_secret: str | None = setting(None, "HMAC key that signs pickle values", secret=True)
    enable_warming: bool = setting(False, "run registered warming functions at start-up")
    layered_front_size: int = setting(
        256, "memory items in front of redis/disk", min=1, max=10_000_000
    )
    lock_timeout: float = setting(
        30.0, "seconds a dogpile lock is held at most", min=0.01, max=3600
    )
    busy_timeout: float = setting(
        10.0, "seconds the disk cache waits while another process writes", min=0.01, max=600
    )
    max_value_bytes: int = setting(
        256 * 1024 * 1024,
        "largest value read back, after decompression (bigger ones, e.g. zlib bombs, are misses)",
        min=1024,
        max=2**32,
    )
    flush_timeout: float = setting(
        5.0,
        "seconds closing the cache spends saving values written during a backend outage",
        min=0,
        max=600,
    )


@frozen_record(slots=False)
class DataSettings:
    """Cached Faker test data (``context.data``)."""

    enabled: bool = setting(True, "turn cached test data on")
    locale: str = setting("en_US", "Faker locale", check=_check_locale)
    seed: int = setting(
        1234, "seed: the same seed gives the same data everywhere", min=0, max=2**63 - 1
    )
    templates_dir: str = setting("data", "folder of YAML/JSON record templates")
    cache_ttl: int = setting(
        86400, "seconds generated data stays cached (0 = forever)", min=0, max=_TEN_YEARS_S
    )
    backend: str = setting(
        "inherit",
        "cache backend for test data ('inherit' uses cache.backend)",
        choices=("inherit", *CACHE_BACKENDS),
    )
    max_records: int = setting(
        100_000, "records one dataset may hold (count, ref ... of, n)", min=1, max=10_000_000
    )
    max_template_bytes: int = setting(
        1024 * 1024, "largest template file read", min=1024, max=64 * 1024 * 1024
    )
    max_faker_size: int = setting(
        10_000,
        "largest size-like Faker argument in a template (length, nb_*, *_chars, digits...)",
        min=1,
        max=10_000_000,
    )


@frozen_record(slots=False)
class ProfilingSettings:
    """Per-step timing, memory, run history, baselines and budgets."""

    enabled: bool = setting(True, "time every step, scenario, feature and hook")
    memory: bool = setting(True, "sample RSS before and after each step")
    memory_interval_ms: float = setting(
        5.0,
        "read RSS at a step's end only if this long passed since the last reading",
        min=0,
        max=60_000,
    )
    tracemalloc: bool = setting(False, "record a tracemalloc peak per step (slow)")
    history_db: str = setting(".qhub/history.db", "SQLite file holding run history")
    history_url: str | None = setting(
        None,
        "postgresql:// URL of a shared run history (wins over history_db; needs qhub[postgres])",
        check=_check_history_url,
    )
    history_connect_timeout_s: float = setting(
        5.0, "seconds to wait for the PostgreSQL history to accept a connection", min=1, max=600
    )
    history_statement_timeout_s: float = setting(
        30.0, "seconds one PostgreSQL history statement may run", min=0.1, max=3600
    )
    history_retention: int = setting(200, "runs kept in history", min=1, max=1_000_000)
    baseline_file: str | None = setting(None, "JSON baseline to compare runs against")
    regression_threshold_percent: float = setting(20.0, "slowdown that counts", min=0, max=100_000)
    noise_floor_ms: float = setting(
        2.0, "slowdowns below this many ms are ignored", min=0, max=_DAY_MS
    )
    leak_threshold_mb: float = setting(
        10.0, "RSS growth over the run that is a leak", min=0, max=1_000_000
    )
    budget_step_p95_ms: float | None = setting(
        None, "p95 budget per step definition", min=0, max=_DAY_MS
    )
    budget_scenario_ms: float | None = setting(None, "budget per scenario", min=0, max=_DAY_MS)
    budget_rss_growth_mb: float | None = setting(
        None, "RSS growth budget per scenario", min=0, max=1_000_000
    )
    fail_on_budget: bool = setting(False, "make `qhub check` fail on budget violations")
    compare: list[str] = setting(
        [],
        "regression thresholds as STAT:N% or STAT:Nms, e.g. median:20% (empty: "
        "median:<regression_threshold_percent>%)",
    )
    alpha: float = setting(
        0.01, "false-alarm rate per compared item of the regression tests", min=1e-6, max=0.5
    )
    single_run_percent: float = setting(
        100.0,
        "slowdown that counts against a one-run baseline (no noise estimate)",
        min=0,
        max=100_000,
    )
    history_timeout_s: float = setting(
        10.0, "seconds to wait for the history lock or a busy history database", min=0, max=3600
    )


@frozen_record(slots=False)
class ReportSettings:
    """What is written at the end of a run."""

    dir: str = setting("reports", "folder for JSON/HTML reports")
    formats: list[str] = setting(
        ["json", "html"],
        "report files written",
        choices=("json", "html", "markdown", "prometheus"),
    )
    summary: bool = setting(True, "print the summary at the end of the run")
    top: int = setting(10, "rows in the summary's tables", min=1, max=10_000)
    verbose: bool = setting(False, "print the full tables in the end-of-run summary")


@frozen_record(slots=False)
class ImportSettings:
    """Import auditing and lazy loading."""

    enabled: bool = setting(True, "turn import optimisation on")
    lazy_modules: list[str] = setting([], "modules loaded lazily by ImportOptimizer")
    heavy_threshold_ms: float = setting(
        50.0, "cumulative import cost that counts as heavy", min=0, max=600_000
    )
    paths: list[str] = setting([], "paths `qhub audit` checks (default: steps + environment)")
    fail_on: str = setting(
        "error", "lowest severity that fails `qhub audit`", choices=("info", "warning", "error")
    )
    timeout_s: float = setting(
        20.0, "seconds allowed to time one module's import", min=0.1, max=3600
    )


_STRESS_PERCENTILES = ("p50", "p90", "p95", "p99", "max")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _check_stress_budgets(budgets: dict[str, float]) -> str | None:
    """Keys are ``"<percentile> <endpoint>"``: ``"p95 GET /pets/{id}"`` or ``"p99 /pets"``."""
    for key, ms in budgets.items():
        stat, _, endpoint = key.strip().partition(" ")
        endpoint = endpoint.strip()
        method, _, route = endpoint.partition(" ")
        if stat not in _STRESS_PERCENTILES or not endpoint:
            return (
                f"budget key {key!r} must be '<{'|'.join(_STRESS_PERCENTILES)}> <endpoint>', "
                "e.g. 'p95 GET /pets/{id}' or 'p99 /pets'"
            )
        if not (endpoint.startswith("/") or (method in _HTTP_METHODS and route.startswith("/"))):
            return f"budget key {key!r}: the endpoint must be 'METHOD /route' or '/route'"
        if not 0 < ms <= _DAY_MS:
            return f"budget for {key!r} must be a number of ms above 0 and at most a day"
    return None


def _check_hosts(hosts: list[str]) -> str | None:
    for host in hosts:
        text = host.strip()
        if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
            return f"host {host!r} must be a host name, host:port or URL without spaces"
    return None


@frozen_record(slots=False)
class StressSettings:
    """``qhub stress``: the suite's scenarios as a load test, and the budgets it must meet."""

    users: int = setting(1, "concurrent virtual users (threads)", min=1, max=10_000)
    duration_s: float = setting(
        60.0,
        "seconds of load when neither --duration nor --iterations is given",
        min=0.1,
        max=86_400,
    )
    ramp_up_s: float = setting(
        0.0, "seconds over which users (or the rate) ramp up", min=0, max=86_400
    )
    rate: float | None = setting(
        None,
        "target iterations/s in total (open model); unset: back to back",
        min=0.001,
        max=1_000_000,
    )
    grace_s: float = setting(
        10.0, "seconds running iterations may finish after the duration", min=0, max=3600
    )
    multiplier: float = setting(
        1.0, "scales the load (STRESS_MULTIPLIER); see stress.scale", min=0.01, max=1000
    )
    scale: str = setting("users", "what the multiplier scales", choices=("users", "iterations"))
    allowed_hosts: list[str] = setting(
        [], "hosts the load may reach besides the configured API hosts", check=_check_hosts
    )
    budget_p50_ms: float | None = setting(
        None, "p50 latency budget over all requests", min=0, max=_DAY_MS
    )
    budget_p95_ms: float | None = setting(
        None, "p95 latency budget over all requests, e.g. 150", min=0, max=_DAY_MS
    )
    budget_p99_ms: float | None = setting(
        None, "p99 latency budget over all requests, e.g. 200", min=0, max=_DAY_MS
    )
    budget_endpoints_ms: dict[str, float] = setting(
        {},
        "latency budgets per endpoint, e.g. {'p95 GET /pets/{id}': 150}",
        check=_check_stress_budgets,
    )
    budget_min_rps: float | None = setting(
        None, "fewest completed requests/s, e.g. 20", min=0, max=10_000_000
    )
    budget_error_rate_percent: float | None = setting(
        None, "most failed requests, in percent", min=0, max=100
    )
    budget_failed_scenarios_percent: float | None = setting(
        None, "most failed scenarios, in percent", min=0, max=100
    )


SECTIONS: dict[str, type] = {
    "api": ApiSettings,
    "redis": RedisSettings,
    "cache": CacheSettings,
    "data": DataSettings,
    "profiling": ProfilingSettings,
    "report": ReportSettings,
    "imports": ImportSettings,
    "stress": StressSettings,
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
    "STRESS_MULTIPLIER": "stress.multiplier",
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

RESERVED_ENV = frozenset(
    {"QHUB_CONFIG", "QHUB_WORKER_ID", "QHUB_RUN_ID", "QHUB_PIPELINE_ID", "QHUB_HOME"}
)
"""``QHUB_*`` variables that are not settings (file location, worker identity)."""
