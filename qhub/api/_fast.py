"""Cheap building blocks for the client's short path (no Session, straight to urllib3).

Everything here produces exactly what requests itself would produce, just without the
generic machinery that dominates a keep-alive request on loopback:

- :class:`VersionedHeaders` is the session's header dict; it counts its own changes, so the
  merged default headers are built once and rebuilt only after a change;
- :func:`response_headers` builds the response's ``CaseInsensitiveDict`` straight from
  urllib3's header container (same keys, same casing, duplicates joined with ``", "``);
- :func:`encoding_of` remembers ``get_encoding_from_headers`` per ``Content-Type`` value;
- :func:`new_response` makes a ``requests.Response`` with the attributes its ``__init__``
  sets, but no throw-away default headers dict or cookie-jar conversion;
  :func:`new_prepared` does the same for the ``PreparedRequest`` it points to.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests
from requests.cookies import RequestsCookieJar
from requests.hooks import default_hooks
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

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


def new_response(
    raw: Any, url: str, request: PreparedRequest, elapsed: timedelta
) -> requests.Response:
    """A ``requests.Response`` for the fully read urllib3 response ``raw``, with what
    ``HTTPAdapter.build_response`` sets (cookies aside: the caller extracts them)."""
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
    response._content = raw.data
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
