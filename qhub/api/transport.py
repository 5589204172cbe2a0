"""``Transport``: the connections under an :class:`~qhub.api.client.APIClient`.

In the manner of httpx's transports: the client keeps the API features (URL joining,
verbs, JSON, schemas, endpoint statistics, lifecycle) and talks to the transport only
through the public methods below. The transport owns

- the :class:`requests.Session` (default headers, cookies, auth, proxies, hooks) and the
  urllib3 pools under it, in *generations*: :meth:`Transport.reconfigure` mounts new pools
  and closes the old ones once no request uses them;
- retries at the wire (urllib3 ``Retry``) and the per-request limits: a total deadline
  (:mod:`qhub.api._deadline`) and a cap on the decoded body (:mod:`qhub.api._body`);
- the short path (:mod:`qhub.api._shortpath`), which it can switch off, and a count of the
  requests each path served (:meth:`Transport.stats`);
- warm-up probes (:meth:`Transport.probe`), used by :mod:`qhub.api.warmup`.

Importing this module imports requests and urllib3; the client does so on first use.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from requests.models import PreparedRequest
from requests.utils import get_environ_proxies
from urllib3.util import Retry, Timeout

from qhub._figures import percent
from qhub._redact import is_secret_name, redact_url, scrub_known
from qhub.api import _deadline
from qhub.api._body import BodyTooLarge, read_body
from qhub.api._errors import translate
from qhub.api._pools import CountingAdapter
from qhub.api._shortpath import ShortPath, VersionedHeaders
from qhub.api.stats import PoolStats
from qhub.exceptions import APIClientError, APIResponseTooLargeError, APITimeoutError

if TYPE_CHECKING:
    from qhub.config import ApiSettings

PATHS = ("short", "session")
"""The two ways a request can be sent; :meth:`Transport.stats` counts each."""


class _BoundedRetry(Retry):
    """urllib3's ``Retry`` whose sleeps (back-off and ``Retry-After``) never outlast the
    request's total deadline; a ``Retry-After`` the server sends in a bad format falls
    back to the back-off instead of failing the request."""

    def sleep(self, response: Any = None) -> None:
        wait: float | None = None
        if self.respect_retry_after_header and response is not None:
            try:
                wait = self.get_retry_after(response)
            except Exception:  # urllib3's InvalidHeader: not a number nor a date
                wait = None
        if wait is None:
            wait = self.get_backoff_time()
        wait = _deadline.capped(wait)
        if wait > 0:
            time.sleep(wait)
        _deadline.check()


class _Session(requests.Session):
    """The Session under a transport; two changes to how it follows redirects:

    - on a redirect to another host (or from https to http), every header that carries a
      secret is dropped, not only ``Authorization`` as requests does: secret-looking names
      (``X-Api-Key``, ``PRIVATE-TOKEN``...) and any header whose value is a known secret;
    - the bodies of the redirect responses are read under the body cap.
    """

    def __init__(self, max_body: int) -> None:
        super().__init__()
        self.max_body = max_body

    def rebuild_auth(self, prepared_request: PreparedRequest, response: requests.Response) -> None:
        old, new = response.request.url, prepared_request.url
        if old and new and self.should_strip_auth(old, new):  # type: ignore[no-untyped-call]
            headers = prepared_request.headers
            for name in [n for n, v in headers.items() if _secret_header(n, v)]:
                del headers[name]
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is not None and not _consumed(resp) and resp.raw is not None:
            _set_content(resp, read_body(resp.raw, self.max_body))
        return target


def _consumed(response: requests.Response) -> bool:
    """Whether requests already read the body (``Response._content`` is False until then)."""
    return getattr(response, "_content", False) is not False


def _set_content(response: requests.Response, content: bytes) -> None:
    """Give ``response`` its body, read by us under the cap, as ``Response.content`` does."""
    response._content = content
    response._content_consumed = True  # type: ignore[attr-defined]


def _secret_header(name: str, value: Any) -> bool:
    if name.lower() == "authorization":
        return False  # requests itself strips it (and re-applies .netrc auth)
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return is_secret_name(name) or scrub_known(text) != text


class _Generation:
    """One adapter (set of pools). Replaced by :meth:`Transport.reconfigure`; closed once
    retired and no request is using it any more, so no socket leaks and none is cut."""

    __slots__ = ("adapter", "closed", "inflight", "pools", "retired")

    def __init__(self, adapter: CountingAdapter) -> None:
        self.adapter = adapter
        self.pools: dict[str, Any] = {}
        self.inflight = 0
        self.retired = False
        self.closed = False


class Transport:
    """Connections, pools, retries, limits and the short path of one API client.

    Built from the client's :class:`~qhub.config.ApiSettings`; ``verify`` is the resolved
    TLS setting (False, a CA bundle path, or True) and ``auth`` a requests auth object.
    """

    def __init__(self, settings: ApiSettings, *, verify: bool | str, auth: Any = None) -> None:
        self.timeout = (float(settings.connect_timeout), float(settings.read_timeout))
        self.total_timeout = float(settings.total_timeout)
        self.max_body = int(settings.max_response_mb * 1024 * 1024)
        self.retries = int(settings.retries)
        self._retry = _BoundedRetry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            backoff_factor=settings.backoff_factor,
            status_forcelist=frozenset(settings.retry_statuses),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self.verify = verify
        self._pool_settings = {
            "pool_connections": int(settings.pool_connections),
            "pool_maxsize": int(settings.pool_maxsize),
            "pool_block": bool(settings.pool_block),
        }
        self._stats = PoolStats()
        self._lock = threading.Lock()
        self._closed = False
        self._requests = self._failed = self._retried = self._reconfigurations = 0
        self._paths = dict.fromkeys(PATHS, 0)
        self.session: requests.Session = _Session(self.max_body)
        self.session.headers = VersionedHeaders(self.session.headers)
        self.session.headers.update(settings.headers)
        if settings.auth_token:
            self.session.headers["Authorization"] = f"Bearer {settings.auth_token}"
        self.session.auth = auth
        self._gen = _Generation(self._new_adapter())
        self._mount(self._gen.adapter)
        self._short = (
            ShortPath(self.session, retry=self._retry, verify=verify, max_body=self.max_body)
            if settings.short_path
            else None
        )

    # ----------------------------------------------------------------- sending
    @property
    def short_path(self) -> bool:
        """True when plain requests take the short path."""
        return self._short is not None

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request (keyword arguments of :meth:`requests.Session.request`).

        A missing or None ``timeout`` means the configured (connect, read) timeouts; the
        whole request, retries and body included, ends at the total deadline. Transport
        failures raise :class:`~qhub.exceptions.APIClientError` subclasses, one line each.
        """
        timeout = kwargs.pop("timeout", None) if kwargs else None
        timeout = self.timeout if timeout is None else self._timeout_of(timeout)
        gen = self._enter()
        watch = _deadline.WATCHDOG.arm(self.total_timeout)
        path = "session"
        failed = True
        retried = 0
        try:
            short = self._short
            response = (
                None if short is None
                else short.send(self._pool_for, gen, method, url, timeout, kwargs)
            )
            if response is not None:
                path = "short"
                response.connection = gen.adapter
            else:
                response = self._send_session(method, url, timeout, kwargs)
            if watch.fired:  # the deadline cut a body whose end is the connection's close
                raise _deadline.DeadlineExceeded
            failed = False
            retries = getattr(response.raw, "retries", None)
            retried = len(retries.history) if retries is not None else 0
            return response
        except APIClientError:
            raise
        except Exception as exc:
            error = self._error(exc, watch, method, url, timeout)
            if error is None:
                raise
            raise error from None
        finally:
            _deadline.WATCHDOG.disarm(watch)
            self._leave(gen, path, failed, retried)

    def _send_session(
        self, method: str, url: str, timeout: tuple[float, float], kwargs: dict[str, Any]
    ) -> requests.Response:
        stream = bool(kwargs.pop("stream", False))
        kwargs.setdefault("verify", self.verify)
        response = self.session.request(method, url, timeout=timeout, stream=True, **kwargs)
        if not stream:
            _set_content(response, read_body(response.raw, self.max_body))
        return response

    def _error(
        self,
        exc: BaseException,
        watch: _deadline.Watch,
        method: str,
        url: str,
        timeout: tuple[float, float],
    ) -> APIClientError | None:
        where = f"{method} {redact_url(url)}"
        if watch.fired or isinstance(exc, _deadline.DeadlineExceeded):
            return APITimeoutError(
                f"{where}: no complete response within the total deadline of "
                f"{self.total_timeout:g} s (api.total_timeout; retries={self.retries})"
            )
        if isinstance(exc, BodyTooLarge):
            what = "declares" if exc.declared else "reached"
            return APIResponseTooLargeError(
                f"{where}: response body {what} {exc.size:,} bytes, over the limit of "
                f"{self.max_body:,} (api.max_response_mb); the connection was closed"
            )
        return translate(exc, method, url, timeout, self.retries)

    def _timeout_of(self, value: Any) -> tuple[float, float]:
        """A per-call ``timeout`` as (connect, read); None parts mean the configured ones.
        No part is longer than the total deadline (a read cannot usefully wait longer than
        the whole request, and a huge value would overflow the socket's timer)."""
        if isinstance(value, (int, float)):
            connect = read = float(value)
        elif isinstance(value, Timeout):
            c, r = value.connect_timeout, value.read_timeout
            connect = float(c) if isinstance(c, (int, float)) else self.timeout[0]
            read = float(r) if isinstance(r, (int, float)) else self.timeout[1]
        else:
            c, r = value
            connect = self.timeout[0] if c is None else float(c)
            read = self.timeout[1] if r is None else float(r)
        total = self.total_timeout
        return (min(connect, total), min(read, total))

    # ------------------------------------------------------------------- pools
    def _new_adapter(self) -> CountingAdapter:
        s = self._pool_settings
        return CountingAdapter(
            self._stats,
            pool_connections=s["pool_connections"],
            pool_maxsize=s["pool_maxsize"],
            pool_block=s["pool_block"],
            max_retries=self._retry,
            wait_limit=self.total_timeout,
        )

    def _mount(self, adapter: CountingAdapter) -> None:
        # One atomic attribute swap: threads iterating the old dict are unaffected.
        self.session.adapters = OrderedDict([("https://", adapter), ("http://", adapter)])

    def _pool_for(self, gen: _Generation, origin: str) -> Any:
        """The urllib3 pool serving ``origin`` in ``gen``, or None when requests to it
        must go through the Session (an environment proxy applies)."""
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
        pool = gen.adapter.get_connection_with_tls_context(probe, self.verify)
        gen.pools[origin] = pool
        return pool

    def _enter(self, count: bool = True) -> _Generation:
        with self._lock:
            if self._closed:
                raise APIClientError("API client is closed")
            gen = self._gen
            gen.inflight += 1
            self._requests += count
            return gen

    def _leave(self, gen: _Generation, path: str | None, failed: bool, retried: int) -> None:
        with self._lock:
            gen.inflight -= 1
            if path is not None:
                self._paths[path] += 1
                self._failed += failed
                self._retried += retried
            close_now = gen.retired and gen.inflight == 0 and not gen.closed
            if close_now:
                gen.closed = True
        if close_now:
            gen.adapter.close()

    def _retire(self, gen: _Generation) -> bool:
        """Mark ``gen`` retired (lock held); True when the caller must close it now."""
        gen.retired = True
        if gen.inflight == 0 and not gen.closed:
            gen.closed = True
            return True
        return False

    def reconfigure(
        self,
        pool_connections: int | None = None,
        pool_maxsize: int | None = None,
        pool_block: bool | None = None,
    ) -> None:
        """Mount new pools with these sizes; statistics are kept. The old pools' idle
        sockets close at once if no request is running, else when the last one ends."""
        with self._lock:
            if self._closed:
                raise APIClientError("API client is closed")
            for key, value in (
                ("pool_connections", pool_connections),
                ("pool_maxsize", pool_maxsize),
                ("pool_block", pool_block),
            ):
                if value is not None:
                    self._pool_settings[key] = value
            old, self._gen = self._gen, _Generation(self._new_adapter())
            self._mount(self._gen.adapter)
            self._reconfigurations += 1
            close_now = self._retire(old)
        if close_now:
            old.adapter.close()

    def pool_settings(self) -> dict[str, Any]:
        """Current ``pool_connections``, ``pool_maxsize`` and ``pool_block``."""
        with self._lock:
            return dict(self._pool_settings)

    # ----------------------------------------------------------------- warm-up
    def probe(self, url: str) -> Callable[[], None]:
        """``HEAD url`` on a pooled connection that stays checked out; returns the function
        that gives the connection back to its pool. Not counted as a request.

        Warm-up calls this from several threads at once, so N probes open N connections.
        """
        origin, target = _split(url)
        gen = self._enter(count=False)
        watch = _deadline.WATCHDOG.arm(self.total_timeout)
        try:
            pool = self._pool_for(gen, origin)
            if pool is None:
                raise APIClientError(f"{origin} is reached through a proxy; warm-up skipped")
            self._stats.in_warmup = True
            try:
                raw = pool.urlopen(
                    "HEAD", target, headers=self.session.headers, redirect=False,
                    assert_same_host=False, retries=False, preload_content=False,
                    release_conn=False, timeout=Timeout(*self.timeout),
                )
            finally:
                self._stats.in_warmup = False
        except BaseException:
            self._leave(gen, None, False, 0)
            raise
        finally:
            _deadline.WATCHDOG.disarm(watch)

        def release() -> None:
            try:
                raw.drain_conn()
                raw.release_conn()
            finally:
                self._leave(gen, None, False, 0)

        return release

    def host_stats(self, url: str) -> dict[str, Any]:
        """The connection counters of the pool serving ``url`` (zeros when unused)."""
        origin, _ = _split(url)
        pool = self._pool_for(self._gen, origin)
        if pool is None:
            return {"warmup_connections": 0}
        hosts: dict[str, Any] = self._stats.totals()["hosts"]
        key = f"{pool.scheme}://{pool.host}:{pool.port}"
        return dict(hosts.get(key, {"warmup_connections": 0}))

    # ------------------------------------------------------------ stats, close
    def stats(self) -> dict[str, Any]:
        """Requests per path, failures, retries and the connection counters."""
        wire = self._stats.totals()
        with self._lock:
            paths = dict(self._paths)
            out: dict[str, Any] = {
                "requests": self._requests,
                "failed_requests": self._failed,
                "retries": self._retried,
                **self._pool_settings,
                "reconfigurations": self._reconfigurations,
            }
        out.update(
            paths=paths,
            short_path=self.short_path,
            requests_sent=wire["requests_sent"],
            connections_created=wire["connections_created"],
            connections_reused=wire["connections_reused"],
            hit_rate_percent=percent(wire["connections_reused"], wire["requests_sent"]),
            pool_full_events=wire["pool_full_events"],
            hosts=wire["hosts"],
        )
        return out

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


def _split(url: str) -> tuple[str, str]:
    """``http://h:1/a?b`` -> (``http://h:1``, ``/a?b``)."""
    scheme, _, rest = url.partition("://")
    slash = rest.find("/")
    if slash < 0:
        return f"{scheme}://{rest}", "/"
    return f"{scheme}://{rest[:slash]}", rest[slash:]
