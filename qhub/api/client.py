"""``BaseAPIClient``: a pooled, counted, rate-limited HTTP client for behave steps.

It is a :class:`requests.Session` with one :class:`~qhub.api._transport.CountingAdapter`
mounted for http and https. Plain requests (``params``/``json``/bytes ``data``/``headers``/
``timeout``, no cookies or session auth or proxies) take a short path straight to the
adapter's urllib3 pool and come back as ordinary :class:`requests.Response` objects; anything
else goes through ``Session.request`` unchanged. Both paths share the same pools, retries,
timeouts, TLS settings and statistics.
"""

from __future__ import annotations

import json as _json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest
from requests.sessions import REDIRECT_STATI
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies
from urllib3.exceptions import ClosedPoolError
from urllib3.util import Retry, Timeout

from qhub._redact import redact_text, redact_url
from qhub.api import _logging
from qhub.api._errors import translate
from qhub.api._fast import (
    HeaderTemplate,
    VersionedHeaders,
    cid_from_store,
    new_prepared,
    new_response,
)
from qhub.api._transport import CountingAdapter
from qhub.api.endpoints import EndpointStats, budget_report, endpoint_key
from qhub.api.ratelimit import TokenBucket
from qhub.api.schemas import SchemaStore, check_fields
from qhub.api.stats import PoolStats, hit_rate
from qhub.api.warmup import warm_up
from qhub.exceptions import APIClientError, APIStatusError, ConfigError, ResponseValidationError

log = logging.getLogger("qhub.api")

_FAST_KWARGS = frozenset({"params", "json", "data", "headers", "timeout", "allow_redirects"})
_CACHE_SIZE = 1024  # entries per per-client cache below (cleared when full)
_SIMPLE_URL = re.compile(
    r"(https?)://([A-Za-z0-9.\-]+(?::\d+)?)"
    r"((?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)?"
    r"(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?)"
)


class _Generation:
    """One adapter (set of pools). Replaced by ``configure_pool_settings``; closed once
    retired and no request is using it any more, so no socket leaks and none is cut."""

    def __init__(self, adapter: CountingAdapter) -> None:
        self.adapter = adapter
        self.pools: dict[str, Any] = {}
        self.inflight = 0
        self.retired = False
        self.closed = False


class BaseAPIClient:
    """A pooled HTTP client with honest connection statistics.

    ``pool_connections`` (host pools kept), ``pool_maxsize`` (connections kept per host) and
    ``pool_block`` (wait for a free connection instead of opening extra ones) mean what they
    mean for :class:`requests.adapters.HTTPAdapter`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        pool_connections: int = 10,
        pool_maxsize: int = 20,
        pool_block: bool = False,
        enable_connection_warmup: bool = True,
        *,
        name: str = "default",
        warmup_connections: int = 2,
        warmup_path: str = "/",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 3,
        backoff_factor: float = 0.1,
        retry_statuses: Iterable[int] = (502, 503, 504),
        verify: bool = True,
        ca_bundle: str | os.PathLike[str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth_token: str | None = None,
        auth: Any = None,
        rate_limit: float | None = None,
        rate_burst: int = 1,
        latency_budgets_ms: Mapping[str, float] | None = None,
        schemas_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        _logging.install()
        self.name = name
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = (float(connect_timeout), float(read_timeout))
        if min(self.timeout) <= 0:
            raise ConfigError(f"API {name!r}: timeouts must be > 0 seconds, got {self.timeout}")
        self._u3_timeout = Timeout(connect=self.timeout[0], read=self.timeout[1])
        self.retries = int(retries)
        self._retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            backoff_factor=backoff_factor,
            status_forcelist=frozenset(retry_statuses),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self._verify = _effective_verify(verify, ca_bundle, name)
        self._pool_settings = {
            "pool_connections": int(pool_connections),
            "pool_maxsize": int(pool_maxsize),
            "pool_block": bool(pool_block),
        }
        self._stats = PoolStats()
        self._endpoints = EndpointStats()
        self._limiter = TokenBucket(rate_limit, rate_burst) if rate_limit else None
        self.schemas = SchemaStore(schemas_dir)
        self.latency_budgets_ms = dict(latency_budgets_ms or {})
        self._lock = threading.Lock()
        self._closed = False
        self._requests = 0
        self._failed = 0
        self._retried = 0
        self._reconfigurations = 0
        self._plans: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        self._targets: dict[str, tuple[str, str] | None] = {}
        self._template: HeaderTemplate | None = None
        self.session = requests.Session()
        self.session.headers = VersionedHeaders(self.session.headers)
        self.session.headers.update(headers or {})
        if auth_token:
            self.session.headers["Authorization"] = f"Bearer {auth_token}"
        self.session.auth = auth
        self._gen = _Generation(self._new_adapter())
        self._mount(self._gen.adapter)
        self.warmup_connections = int(warmup_connections)
        self.warmup_path = warmup_path
        self.warmup: dict[str, Any] = {"enabled": False, "opened": 0}
        if enable_connection_warmup and self.base_url:
            self.warm_up()

    # ------------------------------------------------------------------ pools
    def _new_adapter(self) -> CountingAdapter:
        s = self._pool_settings
        return CountingAdapter(
            self._stats,
            pool_connections=s["pool_connections"],
            pool_maxsize=s["pool_maxsize"],
            pool_block=s["pool_block"],
            max_retries=self._retry,
        )

    def _mount(self, adapter: CountingAdapter) -> None:
        # One atomic attribute swap: threads iterating the old dict are unaffected.
        self.session.adapters = OrderedDict([("https://", adapter), ("http://", adapter)])

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
        for key, value in (("pool_connections", pool_connections), ("pool_maxsize", pool_maxsize)):
            if value is not None and int(value) < 1:
                raise ConfigError(f"API {self.name!r}: {key} must be >= 1, got {value!r}")
        with self._lock:
            if self._closed:
                raise APIClientError(f"API client {self.name!r} is closed")
            if pool_connections is not None:
                self._pool_settings["pool_connections"] = int(pool_connections)
            if pool_maxsize is not None:
                self._pool_settings["pool_maxsize"] = int(pool_maxsize)
            if pool_block is not None:
                self._pool_settings["pool_block"] = bool(pool_block)
            old, self._gen = self._gen, _Generation(self._new_adapter())
            self._mount(self._gen.adapter)
            self._reconfigurations += 1
            close_now = self._retire(old)
        if close_now:
            old.adapter.close()

    def _retire(self, gen: _Generation) -> bool:
        """Mark ``gen`` retired (lock held); True when the caller must close it now."""
        gen.retired = True
        if gen.inflight == 0 and not gen.closed:
            gen.closed = True
            return True
        return False

    def _enter(self, count: bool = True) -> _Generation:
        with self._lock:
            if self._closed:
                raise APIClientError(f"API client {self.name!r} is closed")
            gen = self._gen
            gen.inflight += 1
            self._requests += count
            return gen

    def _leave(self, gen: _Generation, failed: bool, retried: int) -> None:
        with self._lock:
            gen.inflight -= 1
            self._failed += failed
            self._retried += retried
            close_now = gen.retired and gen.inflight == 0 and not gen.closed
            if close_now:
                gen.closed = True
        if close_now:
            gen.adapter.close()

    def pool_for(self, gen: _Generation, origin: str) -> Any:
        """The urllib3 pool serving ``origin`` (``scheme://host:port``) in ``gen``, or None
        when requests to it must go through the Session (an environment proxy applies)."""
        pool = gen.pools.get(origin)
        if pool is not None and pool.pool is not None:
            return pool
        if origin in gen.pools and pool is None:
            return None
        if get_environ_proxies(origin + "/") and self.session.trust_env:
            gen.pools[origin] = None
            return None
        probe = PreparedRequest()
        probe.prepare(method="GET", url=origin + "/")
        pool = gen.adapter.get_connection_with_tls_context(probe, self._verify)
        gen.pools[origin] = pool
        return pool

    def warm_up(self, connections: int | None = None, path: str | None = None) -> dict[str, Any]:
        """Pre-open up to ``connections`` (default ``warmup_connections``, at most
        ``pool_maxsize``) concurrently with ``HEAD path``; never raises, the outcome is
        returned and shown under ``warmup`` in :meth:`get_pool_stats`."""
        gen = self._enter(count=False)
        try:
            self.warmup = warm_up(
                self,
                gen,
                self.warmup_connections if connections is None else int(connections),
                self.warmup_path if path is None else path,
            )
        finally:
            self._leave(gen, False, 0)
        return dict(self.warmup)

    def get_pool_settings(self) -> dict[str, Any]:
        """Current ``pool_connections``, ``pool_maxsize`` and ``pool_block``."""
        with self._lock:
            return dict(self._pool_settings)

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
        ``timeout`` means the client's (connect, read) timeouts: never infinite.
        """
        method = method.upper()
        if route is None:
            key, url = self._plan(method, path)
        else:
            key, url = f"{method} {route}", self.url_for(path)
        if self._limiter is not None:
            self._limiter.acquire()
        gen = self._enter()
        status: int | None = None
        retried = 0
        timeout = kwargs.pop("timeout", None)
        timeout = self.timeout if timeout is None else self._timeout_of(timeout)
        started = time.perf_counter()
        try:
            response = self._send(gen, method, url, timeout, kwargs)
            status = response.status_code
            retries = getattr(response.raw, "retries", None)
            retried = len(retries.history) if retries is not None else 0
        except APIClientError:
            raise
        except Exception as exc:
            error = translate(exc, method, url, timeout, self.retries)
            if error is None:
                raise
            log.warning("%s", error)
            raise error from exc
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self._endpoints.record(key, elapsed_ms, status)
            self._leave(gen, status is None, retried)
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

    def _split(self, url: str) -> tuple[str, str] | None:
        """``(origin, target)`` of a plain ``http(s)://host[:port]/path?query`` URL, None for
        anything else (it then goes through the Session); remembered in a bounded dict."""
        targets = self._targets
        try:
            return targets[url]
        except KeyError:
            pass
        match = _SIMPLE_URL.fullmatch(url)
        split = None if match is None else (f"{match[1]}://{match[2]}", match[3] or "/")
        if len(targets) >= _CACHE_SIZE:
            targets.clear()
        targets[url] = split
        return split

    def _default_headers(self) -> HeaderTemplate | None:
        """The session headers merged once; rebuilt after they change, None when
        ``session.headers`` was replaced by a mapping that does not count its changes."""
        current = self.session.headers
        if type(current) is not VersionedHeaders:
            return None
        template = self._template
        if template is None or template.source is not current or (
            template.version != current.version
        ):
            template = self._template = HeaderTemplate(current)
        return template

    def _timeout_of(self, value: Any) -> tuple[float, float]:
        if value is None:
            return self.timeout
        if isinstance(value, (int, float)):
            return (float(value), float(value))
        if isinstance(value, Timeout):
            connect, read = value.connect_timeout, value.read_timeout
            return (
                float(connect) if isinstance(connect, (int, float)) else self.timeout[0],
                float(read) if isinstance(read, (int, float)) else self.timeout[1],
            )
        connect, read = value
        return (
            self.timeout[0] if connect is None else float(connect),
            self.timeout[1] if read is None else float(read),
        )

    def _send(
        self,
        gen: _Generation,
        method: str,
        url: str,
        timeout: tuple[float, float],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        session = self.session
        data = kwargs.get("data") if kwargs else None
        fast = (
            (not kwargs or kwargs.keys() <= _FAST_KWARGS)
            and (data is None or isinstance(data, bytes))
            and session.auth is None
            and not session.proxies
            and not session.hooks["response"]
            and _jar_empty(session.cookies)
        )
        if fast:
            params = kwargs.get("params")
            full = _with_params(url, params) if params else url
            split = self._split(full)
            if split is not None:
                origin, target = split
                pool = self.pool_for(gen, origin)
                if pool is not None:
                    return self._send_fast(gen, pool, origin, method, full, target, timeout, kwargs)
        kwargs.setdefault("verify", self._verify)
        return session.request(method, url, timeout=timeout, **kwargs)

    def _send_fast(  # noqa: PLR0917 - private, positional for speed
        self,
        gen: _Generation,
        pool: Any,
        origin: str,
        method: str,
        url: str,
        target: str,
        timeout: tuple[float, float],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        template = self._template
        if template is None or template.source is not self.session.headers or (
            template.version != template.source.version
        ):
            template = self._default_headers()
        headers: CaseInsensitiveDict[Any]
        wire: Mapping[str, Any]  # what urllib3 sends: the same items as ``headers``
        if template is not None:
            headers = cid_from_store(template.store.copy())
            wire = template.plain
        else:
            headers = wire = CaseInsensitiveDict(self.session.headers)
        extra = kwargs.get("headers")
        if extra:
            headers.update(extra)
            for name in [k for k, v in headers.items() if v is None]:
                del headers[name]
            wire = headers
        body = kwargs.get("data")
        if kwargs.get("json") is not None and body is None:
            body = _json.dumps(kwargs["json"], allow_nan=False).encode()
            if "content-type" not in headers:
                headers["Content-Type"] = "application/json"
                wire = headers
        u3_timeout = (
            self._u3_timeout
            if timeout is self.timeout or timeout == self.timeout
            else Timeout(connect=timeout[0], read=timeout[1])
        )
        prep = new_prepared(method, url, headers, body)
        started = time.perf_counter()
        for attempt in range(2):
            try:
                raw = pool.urlopen(
                    method, target, body=body, headers=wire, redirect=False,
                    assert_same_host=False, preload_content=True, decode_content=True,
                    retries=self._retry, timeout=u3_timeout,
                )
                break
            except ClosedPoolError:
                # The pool manager evicted this host's pool (more hosts than
                # pool_connections): look it up again once.
                gen.pools.pop(origin, None)
                pool = self.pool_for(gen, origin)
                if attempt or pool is None:
                    raise
        elapsed = timedelta(0, time.perf_counter() - started)  # (days, seconds)
        response = new_response(raw, url, prep, elapsed)
        response.connection = gen.adapter
        if "set-cookie" in response.headers._store:  # type: ignore[attr-defined]
            extract_cookies_to_jar(response.cookies, prep, raw)  # type: ignore[no-untyped-call]
            extract_cookies_to_jar(self.session.cookies, prep, raw)  # type: ignore[no-untyped-call]
        # ``response.is_redirect``, cheapest test first
        if (
            raw.status in REDIRECT_STATI
            and "location" in response.headers
            and kwargs.get("allow_redirects", True)
        ):
            response = self._follow(response, prep, timeout)
        return response

    def _follow(
        self, response: requests.Response, prep: PreparedRequest, timeout: tuple[float, float]
    ) -> requests.Response:
        """Follow redirects exactly as ``Session.send`` does."""
        prep._cookies = self.session.cookies.copy()  # type: ignore[attr-defined]
        history = list(
            self.session.resolve_redirects(
                response, prep, timeout=timeout, verify=self._verify, proxies={}  # type: ignore[arg-type]
            )
        )
        if not history:
            return response
        history.insert(0, response)
        final: requests.Response = history.pop()
        final.history = history
        return final

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
        ``strict_status`` a 4xx/5xx raises :class:`APIStatusError`.
        """
        where = f"{response.request.method} {redact_url(response.url)}"
        if strict_status and response.status_code >= 400:
            snippet = redact_text(response.text[:200])
            err = APIStatusError(f"{where} returned {response.status_code}: {snippet}")
            err.status_code = response.status_code
            raise err
        if not response.content:
            return None
        try:
            return _json.loads(response.content)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            snippet = redact_text(response.text[:100])
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
    def get_pool_stats(self) -> dict[str, Any]:
        """Connection and request counters; see ``docs/api.md`` for every key."""
        wire = self._stats.totals()
        with self._lock:
            requests_made, failed, retried = self._requests, self._failed, self._retried
            settings = dict(self._pool_settings)
            reconfigurations = self._reconfigurations
        limiter = self._limiter.stats() if self._limiter is not None else {"enabled": False}
        return {
            "name": self.name,
            "base_url": redact_url(self.base_url) if self.base_url else None,
            "requests": requests_made,
            "failed_requests": failed,
            "retries": retried,
            "requests_sent": wire["requests_sent"],
            "connections_created": wire["connections_created"],
            "connections_reused": wire["connections_reused"],
            "hit_rate_percent": hit_rate(wire["connections_reused"], wire["requests_sent"]),
            "pool_full_events": wire["pool_full_events"],
            **settings,
            "reconfigurations": reconfigurations,
            "hosts": wire["hosts"],
            "warmup": dict(self.warmup),
            "rate_limit": limiter,
            "rate_limit_waits": limiter.get("waits", 0),
        }

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
            gen = self._gen
            close_now = self._retire(gen)
        if close_now:
            gen.adapter.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> BaseAPIClient:
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
        return f"<BaseAPIClient {self.name!r} {base}>"


def _jar_empty(jar: Any) -> bool:
    """``not jar``, answered without walking the jar when its cookie dict is plainly empty
    (``CookieJar.__len__`` iterates every cookie under the jar's lock)."""
    cookies = getattr(jar, "_cookies", None)
    if type(cookies) is dict and not cookies:
        return True
    return not jar


def _with_params(url: str, params: Any) -> str:
    """``url`` with ``params`` appended like requests encodes them (None values dropped)."""
    if isinstance(params, (str, bytes)):
        query = params.decode() if isinstance(params, bytes) else params
    else:
        items = params.items() if isinstance(params, Mapping) else params
        pairs = [
            (k, v)
            for k, vs in items
            for v in (vs if isinstance(vs, (list, tuple)) else [vs])
            if v is not None
        ]
        query = urlencode(pairs)
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _effective_verify(
    verify: bool, ca_bundle: str | os.PathLike[str] | None, name: str
) -> bool | str:
    """``False``, a CA bundle path, or ``True``; ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
    apply when verification is on and no bundle is configured, as in requests."""
    if not verify:
        return False
    if ca_bundle:
        path = Path(ca_bundle)
        if not path.exists():
            raise ConfigError(f"API {name!r}: ca_bundle {path} does not exist")
        return str(path)
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
