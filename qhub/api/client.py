"""``APIClient`` (seed name ``BaseAPIClient``): a pooled, counted, rate-limited HTTP client
for behave steps.

The client keeps the API features: joining paths to the base URL, the verbs, JSON helpers,
schema checks, per-endpoint latency and budgets, rate limiting, statistics and lifecycle.
Connections, pools, retries, limits and the short path belong to its
:class:`~qhub.api.transport.Transport`, which it reaches only through its public methods.

Creating a client starts it: requests and urllib3 are imported, the transport built and
the warm-up run, under ``qhub._overhead.charged`` (as is every schema compilation), so the
profiler charges the time to qhub, not to the step. ``import qhub.api`` stays cheap, and
qhub's behave session creates ``context.api`` on first use, so ``install()`` pays nothing.
"""

from __future__ import annotations

import json as _json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from qhub._overhead import charged
from qhub._redact import (
    is_secret_name,
    redact_snippet,
    redact_url,
    remember_secret,
    remember_url_secrets,
)
from qhub._warn import warn
from qhub.api import observe as _observe
from qhub.api.endpoints import EndpointStats, budget_report, endpoint_key
from qhub.api.ratelimit import TokenBucket
from qhub.api.schemas import SchemaStore, check_fields
from qhub.config.schema import ApiSettings
from qhub.exceptions import APIClientError, APIStatusError, ConfigError, ResponseValidationError

if TYPE_CHECKING:
    import requests

    from qhub.api.transport import Transport

log = logging.getLogger("qhub.api")

_DEFAULTS = ApiSettings()
"""Constructor defaults come from the config schema (one source of truth)."""
_CACHE_SIZE = 1024  # entries of the per-client (method, path) memo (cleared when full)
_MAX_CALL_SECRETS = 64  # distinct secret values learnt from per-call arguments, per client


class APIClient:
    """A pooled HTTP client with honest connection statistics.

    ``pool_connections`` (host pools kept), ``pool_maxsize`` (connections kept per host) and
    ``pool_block`` (wait for a free connection instead of opening extra ones) mean what they
    mean for :class:`requests.adapters.HTTPAdapter`. Every other argument is the
    ``api.*`` setting of the same name (``docs/api.md``); defaults and limits are those of
    :class:`~qhub.config.ApiSettings`. ``auth`` is a requests auth object.
    """

    def __init__(
        self,
        base_url: str | None = None,
        pool_connections: int = _DEFAULTS.pool_connections,
        pool_maxsize: int = _DEFAULTS.pool_maxsize,
        pool_block: bool = _DEFAULTS.pool_block,
        enable_connection_warmup: bool = _DEFAULTS.enable_warmup,
        *,
        name: str = "default",
        warmup_connections: int = _DEFAULTS.warmup_connections,
        warmup_path: str = _DEFAULTS.warmup_path,
        connect_timeout: float = _DEFAULTS.connect_timeout,
        read_timeout: float = _DEFAULTS.read_timeout,
        total_timeout: float = _DEFAULTS.total_timeout,
        retries: int = _DEFAULTS.retries,
        backoff_factor: float = _DEFAULTS.backoff_factor,
        retry_statuses: Iterable[int] = tuple(_DEFAULTS.retry_statuses),
        verify: bool = _DEFAULTS.verify,
        ca_bundle: str | os.PathLike[str] | None = _DEFAULTS.ca_bundle,
        headers: Mapping[str, str] | None = None,
        auth_token: str | None = _DEFAULTS.auth_token,
        auth: Any = None,
        rate_limit: float | None = _DEFAULTS.rate_limit,
        rate_burst: int = _DEFAULTS.rate_burst,
        latency_budgets_ms: Mapping[str, float] | None = None,
        schemas_dir: str | os.PathLike[str] | None = None,
        max_response_mb: float = _DEFAULTS.max_response_mb,
        short_path: bool = _DEFAULTS.short_path,
    ) -> None:
        given = {
            "base_url": base_url,
            "pool_connections": pool_connections,
            "pool_maxsize": pool_maxsize,
            "pool_block": pool_block,
            "enable_warmup": enable_connection_warmup,
            "warmup_connections": warmup_connections,
            "warmup_path": warmup_path,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "total_timeout": total_timeout,
            "retries": retries,
            "backoff_factor": backoff_factor,
            "retry_statuses": list(retry_statuses),
            "verify": verify,
            "ca_bundle": None if ca_bundle is None else os.fspath(ca_bundle),
            "headers": dict(headers or {}),
            "auth_token": auth_token,
            "rate_limit": rate_limit,
            "rate_burst": rate_burst,
            "latency_budgets_ms": dict(latency_budgets_ms or {}),
            "max_response_mb": max_response_mb,
            "short_path": short_path,
        }
        if schemas_dir is not None:
            given["schemas_dir"] = os.fspath(schemas_dir)
        settings = _validated(given, f"{type(self).__name__}()")
        self._setup(settings, name=name, root=None, auth=auth)

    @classmethod
    def from_config(
        cls,
        settings: ApiSettings,
        *,
        name: str = "default",
        root: str | os.PathLike[str] | None = None,
    ) -> APIClient:
        """The client for ``config.api`` or ``config.apis[name]``.

        Relative ``schemas_dir`` and ``ca_bundle`` are resolved against ``root`` (the
        project root, default: the current folder). Settings made by hand rather than by
        the config loader are validated here the same way.
        """
        checked = _validated(
            {f.name: getattr(settings, f.name) for f in fields(settings)}, "ApiSettings"
        )
        client = cls.__new__(cls)
        client._setup(checked, name=name, root=root, auth=None)
        return client

    def _setup(
        self,
        settings: ApiSettings,
        *,
        name: str,
        root: str | os.PathLike[str] | None,
        auth: Any,
    ) -> None:
        base = Path.cwd() if root is None else Path(root)

        def resolve(value: str | None) -> Path | None:
            if not value:
                return None
            path = Path(value).expanduser()
            return path if path.is_absolute() else base / path

        self.settings = settings
        self.name = name
        self.base_url = settings.base_url.rstrip("/") if settings.base_url else None
        self.timeout = (float(settings.connect_timeout), float(settings.read_timeout))
        self.retries = int(settings.retries)
        self.latency_budgets_ms = dict(settings.latency_budgets_ms)
        self.schemas = SchemaStore(resolve(settings.schemas_dir))
        self._verify = _effective_verify(settings.verify, resolve(settings.ca_bundle), name)
        self._auth = auth
        self._limiter = (
            TokenBucket(settings.rate_limit, settings.rate_burst) if settings.rate_limit else None
        )
        self._endpoints = EndpointStats()
        self._lock = threading.Lock()
        self._closed = False
        self._reconfigurations = 0
        self._plans: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        self._warmup: dict[str, Any] = {"enabled": False, "opened": 0}
        self._learnt: set[str] = set()
        _remember_secrets(settings, auth)
        self._transport = self._start()

    # -------------------------------------------------------------- transport
    def _start(self) -> Transport:
        """Build the transport (imports requests and urllib3) and warm it up, as qhub's
        own time."""
        with charged(f"API client {self.name!r} start"):
            from qhub.api import _logging
            from qhub.api.transport import Transport

            _logging.install()
            transport = Transport(self.settings, verify=self._verify, auth=self._auth)
            if self.settings.enable_warmup and self.base_url:
                self._run_warmup(transport, None, None)
        return transport

    @property
    def transport(self) -> Transport:
        """The transport under this client: connections, pools, limits, short path."""
        return self._transport

    @property
    def session(self) -> requests.Session:
        """The :class:`requests.Session` whose headers, cookies, auth and hooks every
        request uses."""
        return self._transport.session

    def warm_up(self, connections: int | None = None, path: str | None = None) -> dict[str, Any]:
        """Pre-open up to ``connections`` (default ``warmup_connections``, at most
        ``pool_maxsize``) concurrently with ``HEAD path``; never raises, the outcome is
        returned and shown under ``warmup`` in :meth:`stats`."""
        return self._run_warmup(self._transport, connections, path)

    def _run_warmup(
        self, transport: Transport, connections: int | None, path: str | None
    ) -> dict[str, Any]:
        from qhub.api.warmup import warm_up

        path = self.settings.warmup_path if path is None else path
        count = self.settings.warmup_connections if connections is None else int(connections)
        url = self.url_for(path) if self.base_url else None
        result = warm_up(transport, url, count)
        result["path"] = path
        self._warmup = result
        if result["error"] and result["error"] != "no base_url":
            warn(f"API {self.name!r} warm-up failed: {result['error']}",
                 once=f"api-warmup:{self.name}")
        return dict(result)

    def configure_pool_settings(
        self,
        pool_connections: int | None = None,
        pool_maxsize: int | None = None,
        pool_block: bool | None = None,
    ) -> None:
        """Rebuild the pools with new sizes at runtime.

        Statistics are kept. The old pools' idle sockets are closed at once if no request is
        running, else as soon as the last running request finishes.
        """
        changes = {
            key: value
            for key, value in (
                ("pool_connections", pool_connections),
                ("pool_maxsize", pool_maxsize),
                ("pool_block", pool_block),
            )
            if value is not None
        }
        checked = _validated(changes, "configure_pool_settings()")
        sizes: dict[str, Any] = {key: getattr(checked, key) for key in changes}
        with self._lock:
            if self._closed:
                raise APIClientError(f"API client {self.name!r} is closed")
            self.settings = replace(self.settings, **sizes)
            self._reconfigurations += 1
        self._transport.reconfigure(**sizes)

    def get_pool_settings(self) -> dict[str, Any]:
        """Current ``pool_connections``, ``pool_maxsize`` and ``pool_block``."""
        s = self.settings
        return {
            "pool_connections": s.pool_connections,
            "pool_maxsize": s.pool_maxsize,
            "pool_block": s.pool_block,
        }

    # --------------------------------------------------------------- requests
    def url_for(self, path: str) -> str:
        """Absolute URL of ``path``: base URL and path joined with exactly one slash."""
        if path.startswith(("http://", "https://")):
            return path
        if self.base_url is None:
            raise APIClientError(
                f"API {self.name!r} has no base_url: configure api.base_url or pass a full URL"
            )
        if not path or path.startswith("?"):
            return self.base_url + path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, route: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send one request; ``route`` names its endpoint template (e.g. ``/pets/{id}``).

        Keyword arguments are those of :meth:`requests.Session.request`. A missing or None
        ``timeout`` means the client's (connect, read) timeouts: never infinite; the whole
        request ends at ``total_timeout``; bodies over ``max_response_mb`` are refused.
        Observers registered with :func:`~qhub.api.observe.observe_requests` are told once
        per request, however it ends.
        """
        method = method.upper()
        if route is None:
            key, url = self._plan(method, path)
        else:
            key, url = f"{method} {route}", self.url_for(path)
        if self._closed:
            raise APIClientError(f"API client {self.name!r} is closed")
        transport = self._transport
        if kwargs and len(self._learnt) < _MAX_CALL_SECRETS and (
            "headers" in kwargs or "params" in kwargs or "auth" in kwargs
        ):
            self._learn_secrets(kwargs)
        waited_s = 0.0
        if self._limiter is not None:
            waited_s = self._limiter.acquire()
        status: int | None = None
        error: BaseException | None = None
        started = time.perf_counter()
        try:
            response = transport.send(method, url, **kwargs)
            status = response.status_code
        except BaseException as exc:
            error = exc
            raise
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self._endpoints.record(key, elapsed_ms, status)
            if _observe.observers:
                _observe.notify(key, elapsed_ms + waited_s * 1000.0, status, error)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.2f ms", method, redact_url(url), status, elapsed_ms)
        return response

    def _plan(self, method: str, path: str) -> tuple[str, str]:
        """``(endpoint_key(method, path), url_for(path))``, remembered per (method, path) in
        a bounded dict (entries made for another ``base_url`` are not used)."""
        plans = self._plans
        plan = plans.get((method, path))
        if plan is None or plan[2] is not self.base_url:
            plan = (endpoint_key(method, path), self.url_for(path), self.base_url)
            if len(plans) >= _CACHE_SIZE:
                plans.clear()
            plans[(method, path)] = plan
        return plan[0], plan[1]

    def _learn_secrets(self, kwargs: Mapping[str, Any]) -> None:
        """Remember secret values passed per call (secret-named headers and parameters,
        ``auth=(user, password)``), so an echo of them is scrubbed too."""
        found: list[Any] = []
        for mapping in (kwargs.get("headers"), kwargs.get("params")):
            if isinstance(mapping, Mapping):
                found += [v for k, v in mapping.items() if isinstance(k, str)
                          and is_secret_name(k)]
        auth = kwargs.get("auth")
        if isinstance(auth, tuple) and len(auth) == 2:
            found += [auth[1], f"{auth[0]}:{auth[1]}"]
        for value in found:
            if isinstance(value, str) and value not in self._learnt and (
                len(self._learnt) < _MAX_CALL_SECRETS
            ):
                self._learnt.add(value)
                remember_secret(value)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """``GET path`` (see :meth:`request`)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """``POST path`` (see :meth:`request`)."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """``PUT path`` (see :meth:`request`)."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        """``PATCH path`` (see :meth:`request`)."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """``DELETE path`` (see :meth:`request`)."""
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        """``HEAD path``; redirects are not followed unless asked (as in requests)."""
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", path, **kwargs)

    # ----------------------------------------------------------- JSON helpers
    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and return the parsed JSON body; a 4xx/5xx raises :class:`APIStatusError`."""
        return self.json_of(self.request("GET", path, **kwargs), strict_status=True)

    def post_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """POST ``body`` as JSON and return the parsed JSON answer (errors raise)."""
        return self.json_of(self.request("POST", path, json=body, **kwargs), strict_status=True)

    def put_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """PUT ``body`` as JSON and return the parsed JSON answer (errors raise)."""
        return self.json_of(self.request("PUT", path, json=body, **kwargs), strict_status=True)

    def patch_json(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """PATCH ``body`` as JSON and return the parsed JSON answer (errors raise)."""
        return self.json_of(self.request("PATCH", path, json=body, **kwargs), strict_status=True)

    def delete_json(self, path: str, **kwargs: Any) -> Any:
        """DELETE and return the parsed JSON answer, None for an empty body (errors raise)."""
        return self.json_of(self.request("DELETE", path, **kwargs), strict_status=True)

    @staticmethod
    def json_of(response: requests.Response, strict_status: bool = False) -> Any:
        """Parsed JSON of ``response`` (None when empty).

        A body that is not JSON raises :class:`ResponseValidationError`; with
        ``strict_status`` a 4xx/5xx raises :class:`APIStatusError`. Quoted bodies are
        redacted (known secrets, secret-looking pairs) before they are cut short.
        """
        where = f"{response.request.method} {redact_url(response.url)}"
        if strict_status and response.status_code >= 400:
            snippet = redact_snippet(response.text, 200)
            err = APIStatusError(f"{where} returned {response.status_code}: {snippet}")
            err.status_code = response.status_code
            raise err
        if not response.content:
            return None
        try:
            return _json.loads(response.content)
        except (ValueError, RecursionError):
            kind = response.headers.get("Content-Type", "no content type")
            snippet = redact_snippet(response.text, 100)
            raise ResponseValidationError(
                f"{where}: response body is not JSON ({kind}): {snippet!r}"
            ) from None

    # -------------------------------------------------------------- validation
    def validate_response(self, response: requests.Response, schema: str | Path) -> None:
        """Check the JSON body against a schema (a name in ``schemas_dir`` or a path).

        Raises :class:`ResponseValidationError` (an AssertionError) naming each failing
        field's path (``$.pets[0].name``) and why.
        """
        data = self.json_of(response)
        context = f"{response.request.method} {redact_url(response.url)} ({response.status_code})"
        self.schemas.check(data, schema, context=context)

    def check_fields(
        self,
        response: requests.Response,
        required: Iterable[str] = (),
        allowed: Iterable[str] | None = None,
    ) -> None:
        """Fast check without a schema: ``required`` dotted fields exist and, with
        ``allowed``, the top-level object has no other fields."""
        context = f"{response.request.method} {redact_url(response.url)}"
        check_fields(self.json_of(response), required, allowed, context=context)

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict[str, Any]:
        """Request, connection and per-path counters; see ``docs/api.md`` for every key."""
        out = self._transport.stats()
        limiter = self._limiter.stats() if self._limiter is not None else {"enabled": False}
        out.update(
            name=self.name,
            base_url=redact_url(self.base_url) if self.base_url else None,
            reconfigurations=self._reconfigurations,
            warmup=dict(self._warmup),
            rate_limit=limiter,
            rate_limit_waits=limiter.get("waits", 0),
        )
        return out

    get_pool_stats = stats
    """Seed-compatible name of :meth:`stats`."""

    def endpoint_stats(self) -> list[dict[str, Any]]:
        """Latency per endpoint: endpoint, count, mean/p50/p95/p99/max in ms, errors."""
        return self._endpoints.rows()

    def latency_budget_report(self) -> list[dict[str, Any]]:
        """Each configured budget: endpoint, budget_ms, p95_ms, count, passed."""
        return budget_report(self.latency_budgets_ms, self._endpoints)

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Close every pooled connection; further requests raise. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._transport.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> APIClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        base = redact_url(self.base_url) if self.base_url else None
        return f"<{type(self).__name__} {self.name!r} {base}>"


BaseAPIClient = APIClient
"""The seed's name for :class:`APIClient` (kept for compatibility)."""


def client_from_settings(
    settings: ApiSettings, *, name: str = "default", root: Path | None = None
) -> APIClient:
    """Seed-era spelling of :meth:`APIClient.from_config`."""
    return APIClient.from_config(settings, name=name, root=root)


_SETTING_NAMES = frozenset(f.name for f in fields(ApiSettings))


def _validated(values: Mapping[str, Any], origin: str) -> ApiSettings:
    """``ApiSettings`` with ``values`` over the defaults, checked by the config layer's
    validator (the same types, limits and one-line errors as a config file gets)."""
    from qhub.config.loader import merge
    from qhub.config.sources import Entry

    unknown = set(values) - _SETTING_NAMES
    if unknown:  # pragma: no cover - a programming error in this module
        raise TypeError(f"unknown API settings {sorted(unknown)}")
    entries = [Entry(f"api.{key}", value, origin, False) for key, value in values.items()]
    api: ApiSettings = merge(entries).sections["api"]
    return api


def _remember_secrets(settings: ApiSettings, auth: Any) -> None:
    """Register what this client knows to be secret with the redaction engine."""
    if settings.auth_token:
        remember_secret(settings.auth_token)
        remember_secret(f"Bearer {settings.auth_token}")
    for name, value in settings.headers.items():
        if is_secret_name(name):
            remember_secret(value)
    if settings.base_url:
        remember_url_secrets(settings.base_url)
        parts = urlsplit(settings.base_url)
        if parts.password:  # requests sends it as Basic base64(user:password)
            remember_secret(f"{unquote(parts.username or '')}:{unquote(parts.password)}")
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth):
        remember_secret(auth[1])
        remember_secret(f"{auth[0]}:{auth[1]}")  # and so its base64 (Basic auth) form


def _effective_verify(verify: bool, ca_bundle: Path | None, name: str) -> bool | str:
    """``False``, a CA bundle path, or ``True``; ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
    apply when verification is on and no bundle is configured, as in requests."""
    if not verify:
        return False
    if ca_bundle:
        if not ca_bundle.exists():
            raise ConfigError(f"API {name!r}: ca_bundle {ca_bundle} does not exist")
        return str(ca_bundle)
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
