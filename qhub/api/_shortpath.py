"""The short path: plain requests sent straight to a urllib3 pool, fenced in one place.

A request qualifies when it carries only ``params``/``json``/bytes ``data``/``headers``/
``timeout``/``allow_redirects`` and the session has no auth, proxies, response hooks or
cookies; :meth:`ShortPath.accepts` is the one test. It comes back as an ordinary
:class:`requests.Response`, built with exactly what requests itself would produce, just
without the generic machinery that dominates a keep-alive request on loopback:

- :class:`VersionedHeaders` is the session's header dict; it counts its own changes, so the
  merged default headers are built once and rebuilt only after a change;
- :func:`response_headers` builds the response's ``CaseInsensitiveDict`` straight from
  urllib3's header container (same keys, same casing, duplicates joined with ``", "``);
- :func:`encoding_of` remembers ``get_encoding_from_headers`` per ``Content-Type`` value;
- :func:`new_response` makes a ``requests.Response`` with the attributes its ``__init__``
  sets, but no throw-away default headers dict or cookie-jar conversion;
  :func:`new_prepared` does the same for the ``PreparedRequest`` it points to.

Only :class:`qhub.api.transport.Transport` uses this module; switching the short path off
(``api.short_path = false``) sends everything through ``requests.Session``.
"""

from __future__ import annotations

import json as _json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.hooks import default_hooks
from requests.models import PreparedRequest
from requests.sessions import REDIRECT_STATI
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import ClosedPoolError
from urllib3.util import Timeout

from qhub.api._body import read_body

_Store = OrderedDict[str, tuple[str, Any]]


class VersionedHeaders(CaseInsensitiveDict[Any]):
    """A ``CaseInsensitiveDict`` that counts changes in :attr:`version`.

    Every mutation of a ``CaseInsensitiveDict`` (``update``, ``pop``, ``clear``,
    ``setdefault`` included) goes through ``__setitem__`` or ``__delitem__``.
    """

    version = 0

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.version += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.version += 1


class HeaderTemplate:
    """The session's default headers, merged once: a ``CaseInsensitiveDict`` store to copy
    for each request's ``PreparedRequest`` and a plain dict for urllib3 (never mutated)."""

    __slots__ = ("plain", "source", "store", "version")

    def __init__(self, source: VersionedHeaders) -> None:
        # Read the version first: a change racing with this copy makes the tag stale and
        # the template is rebuilt on the next request, never used out of date twice.
        self.source = source
        self.version = source.version
        self.store: _Store = OrderedDict(
            (key.lower(), (key, value)) for key, value in list(source.items())
        )
        self.plain: dict[str, Any] = {key: value for key, value in self.store.values()}


def cid_from_store(store: _Store) -> CaseInsensitiveDict[Any]:
    """A ``CaseInsensitiveDict`` around a ready ``lower -> (key, value)`` store."""
    headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict.__new__(CaseInsensitiveDict)
    headers._store = store  # type: ignore[attr-defined]
    return headers


def response_headers(raw_headers: Mapping[str, str]) -> tuple[CaseInsensitiveDict[Any], Any]:
    """``CaseInsensitiveDict(raw_headers)`` and its ``Content-Type`` (None when absent).

    For urllib3's ``HTTPHeaderDict`` the dict is built directly from its container, which
    maps each lower-cased name to ``[first spelling, value, value, ...]``:
    ``CaseInsensitiveDict`` keeps the first spelling and the values joined with ", ".
    Anything else goes through the generic constructor.
    """
    container = getattr(raw_headers, "_container", None)
    if type(container) is not dict:
        headers = CaseInsensitiveDict(raw_headers)
        return headers, headers.get("content-type")
    store: _Store = OrderedDict()
    for lower, values in container.items():
        store[lower] = (values[0], values[1] if len(values) == 2 else ", ".join(values[1:]))
    content_type = store.get("content-type")
    return cid_from_store(store), None if content_type is None else content_type[1]


_ENCODINGS: dict[Any, str | None] = {}


def encoding_of(content_type: Any) -> str | None:
    """``get_encoding_from_headers`` for a response with this ``Content-Type`` value."""
    try:
        return _ENCODINGS[content_type]
    except KeyError:
        pass
    headers = {} if content_type is None else {"content-type": content_type}
    encoding = get_encoding_from_headers(headers)
    if len(_ENCODINGS) >= 256:
        _ENCODINGS.clear()
    _ENCODINGS[content_type] = encoding
    return encoding


_INIT_ATTRS = frozenset({
    "_content", "_content_consumed", "_next", "status_code", "headers", "raw", "url",
    "encoding", "history", "reason", "cookies", "elapsed", "request",
})
# Skip Response.__init__ only while it sets exactly the attributes filled in below; a
# requests release that adds one makes new_response call the real constructor instead.
_SKIP_INIT = frozenset(requests.Response().__dict__) == _INIT_ATTRS


def new_response(  # noqa: PLR0917 - positional for speed, like its callers
    raw: Any,
    url: str,
    request: PreparedRequest,
    elapsed: timedelta,
    content: bytes,
    headers: CaseInsensitiveDict[Any] | None = None,
    content_type: Any = None,
) -> requests.Response:
    """A ``requests.Response`` for the urllib3 response ``raw`` whose body ``content`` was
    read, with what ``HTTPAdapter.build_response`` sets (cookies aside: the caller extracts
    them). ``headers``/``content_type`` are :func:`response_headers` of ``raw`` when the
    caller has them already."""
    if headers is None:
        headers, content_type = response_headers(raw.headers)
    if _SKIP_INIT:
        response = requests.Response.__new__(requests.Response)
        response._next = None  # type: ignore[attr-defined]
        response.history = []
        response.cookies = RequestsCookieJar()  # what cookiejar_from_dict({}) returns
    else:  # pragma: no cover - only with a requests release that changed Response
        response = requests.Response()
    response.status_code = raw.status
    response.headers = headers
    response.encoding = encoding_of(content_type)
    response.raw = raw
    response.reason = raw.reason
    response.url = url
    response.request = request
    response._content = content
    response._content_consumed = True  # type: ignore[attr-defined]
    response.elapsed = elapsed
    return response


_PREPARED_ATTRS = frozenset(
    {"method", "url", "headers", "_cookies", "body", "hooks", "_body_position"}
)
_SKIP_PREPARED_INIT = (
    frozenset(PreparedRequest().__dict__) == _PREPARED_ATTRS
    and default_hooks() == {"response": []}
)


def new_prepared(
    method: str, url: str, headers: CaseInsensitiveDict[Any], body: bytes | None
) -> PreparedRequest:
    """The ``PreparedRequest`` of a short-path request (``response.request``), as
    ``PreparedRequest()`` with these four fields set would be."""
    if _SKIP_PREPARED_INIT:
        prep = PreparedRequest.__new__(PreparedRequest)
        prep._cookies = None  # type: ignore[attr-defined]
        prep.hooks = {"response": []}  # what default_hooks() returns
        prep._body_position = None  # type: ignore[attr-defined]
    else:  # pragma: no cover - only with a requests release that changed PreparedRequest
        prep = PreparedRequest()
    prep.method = method
    prep.url = url
    prep.headers = headers
    prep.body = body
    return prep


_FAST_KWARGS = frozenset({"params", "json", "data", "headers", "timeout", "allow_redirects"})
_CACHE_SIZE = 1024  # entries in each bounded memo below (cleared when full)
_SIMPLE_URL = re.compile(
    r"(https?)://([A-Za-z0-9.\-]+(?::\d+)?)"
    r"((?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)?"
    r"(?:\?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?)"
)


class ShortPath:
    """Sends plain requests of one session straight to urllib3 pools.

    ``lookup(origin)`` is the transport's pool look-up (None when the origin must go
    through the Session, e.g. behind an environment proxy).
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        retry: Any,
        verify: bool | str,
        max_body: int,
    ) -> None:
        self.session = session
        self.retry = retry
        self.verify = verify
        self.max_body = max_body
        self._targets: dict[str, tuple[str, str] | None] = {}
        self._template: HeaderTemplate | None = None
        self._timeouts: dict[tuple[float, float], Timeout] = {}

    def cache_info(self) -> dict[str, int]:
        """Entries in the bounded memos (URL splits, timeouts): never above their caps."""
        return {"targets": len(self._targets), "timeouts": len(self._timeouts)}

    def accepts(self, kwargs: Mapping[str, Any]) -> bool:
        """True when a request with these ``Session.request`` arguments can take the short
        path and come back exactly as the Session would return it."""
        session = self.session
        data = kwargs.get("data") if kwargs else None
        return (
            (not kwargs or kwargs.keys() <= _FAST_KWARGS)
            and (data is None or isinstance(data, bytes))
            and session.auth is None
            and not session.proxies
            and not session.hooks["response"]
            and _jar_empty(session.cookies)
        )

    def split(self, url: str) -> tuple[str, str] | None:
        """``(origin, target)`` of a plain URL, else None; remembered in a bounded memo."""
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

    def default_headers(self) -> HeaderTemplate | None:
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

    def _timeout(self, timeout: tuple[float, float]) -> Timeout:
        cached = self._timeouts.get(timeout)
        if cached is None:
            if len(self._timeouts) >= 64:
                self._timeouts.clear()
            cached = self._timeouts[timeout] = Timeout(connect=timeout[0], read=timeout[1])
        return cached

    def send(  # noqa: PLR0917 - internal, called once per request by the transport
        self,
        pool_for: Callable[[Any, str], Any],
        gen: Any,
        method: str,
        url: str,
        timeout: tuple[float, float],
        kwargs: Mapping[str, Any],
    ) -> requests.Response | None:
        """Send one request straight to its urllib3 pool and build its
        ``requests.Response``; None when the request must go through the Session instead.

        ``pool_for(gen, origin)`` is the transport's pool look-up (None: use the Session).
        """
        if not self.accepts(kwargs):
            return None
        params = kwargs.get("params") if kwargs else None
        url = _with_params(url, params) if params else url
        split = self._targets.get(url) or self.split(url)
        if split is None:
            return None
        origin, target = split
        pool = pool_for(gen, origin)
        if pool is None:
            return None
        template = self._template
        if template is None or template.source is not self.session.headers or (
            template.version != template.source.version
        ):
            template = self.default_headers()
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
        prep = new_prepared(method, url, headers, body)
        u3_timeout = self._timeouts.get(timeout) or self._timeout(timeout)
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                raw = pool.urlopen(
                    method, target, body=body, headers=wire, redirect=False,
                    assert_same_host=False, preload_content=False, decode_content=True,
                    retries=self.retry, timeout=u3_timeout,
                )
                break
            except ClosedPoolError:  # the pool manager evicted this host's pool: once more
                gen.pools.pop(origin, None)
                pool = pool_for(gen, origin)
                if attempt == 2 or pool is None:
                    raise
        headers_in, content_type = response_headers(raw.headers)
        length = raw.length_remaining
        if (
            length is not None
            and length <= self.max_body
            and "content-encoding" not in headers_in._store  # type: ignore[attr-defined]
        ):
            content = raw.read()  # the usual case: Content-Length, not compressed
        else:
            content = read_body(raw, self.max_body)
        elapsed = timedelta(0, time.perf_counter() - started)  # (days, seconds)
        response = new_response(raw, url, prep, elapsed, content, headers_in, content_type)
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
                response, prep, timeout=timeout, verify=self.verify, proxies={}  # type: ignore[arg-type]
            )
        )
        if not history:
            return response
        history.insert(0, response)
        final: requests.Response = history.pop()
        final.history = history
        return final


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
