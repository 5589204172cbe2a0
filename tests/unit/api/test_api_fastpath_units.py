"""Unit tests for the short path's building blocks: each must give exactly what requests
gives.

Header templates, response headers, encodings and responses are compared with what
``requests`` itself builds from the same input; the short path's memos and the client's
endpoint grouping are checked through their public methods; lock-free counters are
hammered from threads.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.util import Retry

from qhub.api import BaseAPIClient
from qhub.api._shortpath import (
    HeaderTemplate,
    ShortPath,
    VersionedHeaders,
    cid_from_store,
    encoding_of,
    new_prepared,
    new_response,
    response_headers,
)
from qhub.api.endpoints import EndpointStats
from qhub.api.stats import PoolStats


def _client(base_url: str | None = "http://127.0.0.1:9/api") -> BaseAPIClient:
    return BaseAPIClient(base_url, enable_connection_warmup=False)


def _short(session: requests.Session | None = None) -> ShortPath:
    session = session or requests.Session()
    session.headers = VersionedHeaders(session.headers)
    return ShortPath(session, retry=Retry(0), verify=True, max_body=1 << 20)


def _raw(
    headers: list[tuple[str, str]], body: bytes = b"{}", status: int = 200, stream: bool = False
) -> HTTPResponse:
    """A urllib3 response, read already (as the short path asks for) or as a stream (as
    ``HTTPAdapter`` gets it)."""
    multi = HTTPHeaderDict()
    for name, value in headers:
        multi.add(name, value)
    return HTTPResponse(body=io.BytesIO(body) if stream else body, headers=multi,
                        status=status, reason="Custom Reason", preload_content=not stream)


_HEADER_SETS = [
    [("Content-Type", "application/json"), ("Content-Length", "8")],
    [("x-Dup", "a"), ("Server", "s"), ("X-DUP", "b"), ("x-dup", "c")],
    [("Set-Cookie", "a=1; Path=/"), ("set-cookie", "b=2; Path=/"), ("Date", "today")],
    [("Content-Type", "text/html; charset=latin-1"), ("Link", "<a>; rel=next")],
    [],
]


class TestVersionedHeaders:
    """Every way of changing the session headers bumps ``version``."""

    @pytest.mark.parametrize("change", [
        lambda h: h.__setitem__("X-New", "1"),
        lambda h: h.__delitem__("accept"),
        lambda h: h.update({"X-A": "1"}),
        lambda h: h.pop("Accept"),
        lambda h: h.popitem(),
        lambda h: h.setdefault("X-B", "2"),
        lambda h: h.clear(),
    ])
    def test_each_mutation_counts(self, change: Callable[[VersionedHeaders], object]) -> None:
        headers = VersionedHeaders({"Accept": "*/*", "User-Agent": "t"})
        before = headers.version
        change(headers)
        assert headers.version > before

    def test_reads_do_not_count_and_it_is_a_case_insensitive_dict(self) -> None:
        headers = VersionedHeaders({"Accept": "*/*"})
        before = headers.version
        assert headers["ACCEPT"] == "*/*" and "accept" in headers and len(headers) == 1
        assert headers == CaseInsensitiveDict({"accept": "*/*"})
        assert isinstance(headers, CaseInsensitiveDict)
        assert headers.version == before

    def test_template_matches_a_case_insensitive_copy(self) -> None:
        source = VersionedHeaders({"User-Agent": "qhub", "accept": "*/*", "X-Token": "t"})
        template = HeaderTemplate(source)
        reference = CaseInsensitiveDict(source)
        copy = cid_from_store(template.store.copy())
        assert list(copy.items()) == list(reference.items())
        assert copy == reference and copy["ACCEPT"] == "*/*"
        assert list(template.plain.items()) == list(reference.items())
        copy["X-Extra"] = "1"  # a request's copy never leaks into the template
        assert "x-extra" not in template.store and "X-Extra" not in template.plain
        source["X-Later"] = "2"
        assert template.version != source.version  # stale: the client rebuilds it


class TestResponseHeaders:
    """``response_headers`` equals ``CaseInsensitiveDict(raw.headers)`` exactly."""

    @pytest.mark.parametrize("headers", _HEADER_SETS)
    def test_same_as_requests(self, headers: list[tuple[str, str]]) -> None:
        raw = _raw(headers)
        built, content_type = response_headers(raw.headers)
        reference = CaseInsensitiveDict(raw.headers)
        assert type(built) is CaseInsensitiveDict
        assert list(built.items()) == list(reference.items())  # spelling, order, joins
        assert list(built.lower_items()) == list(reference.lower_items())
        assert content_type == reference.get("content-type")

    def test_duplicates_joined_like_requests(self) -> None:
        built, _ = response_headers(_raw(_HEADER_SETS[1]).headers)
        assert built["x-dup"] == "a, b, c" and next(iter(built)) == "x-Dup"

    def test_plain_mapping_falls_back(self) -> None:
        built, content_type = response_headers({"Content-Type": "text/plain", "X": "1"})
        assert dict(built) == {"Content-Type": "text/plain", "X": "1"}
        assert content_type == "text/plain"


class TestEncoding:
    """``encoding_of`` equals ``get_encoding_from_headers`` and stays bounded."""

    @pytest.mark.parametrize("content_type", [
        None, "application/json", "text/html", "text/plain; charset=UTF-16",
        "application/xml; charset='latin-1'", "image/png", "",
    ])
    def test_same_as_requests(self, content_type: str | None) -> None:
        headers = {} if content_type is None else {"Content-Type": content_type}
        expected = get_encoding_from_headers(CaseInsensitiveDict(headers))
        assert encoding_of(content_type) == expected
        assert encoding_of(content_type) == expected  # and again from the cache

    def test_many_content_types_stay_correct(self) -> None:
        for i in range(600):  # more than the memo holds: old entries are dropped, not wrong
            assert encoding_of(f"text/x-{i}; charset=cs{i}") == f"cs{i}"
        assert encoding_of("text/x-0; charset=cs0") == "cs0"


class TestNewResponse:
    """``new_response`` builds what ``HTTPAdapter.build_response`` builds."""

    @pytest.mark.parametrize("headers", _HEADER_SETS)
    def test_same_as_adapter(self, headers: list[tuple[str, str]]) -> None:
        prep = PreparedRequest()
        prep.prepare(method="GET", url="http://127.0.0.1:9/x")
        raw = _raw(headers, body=b'{"a": 1}', status=201)
        ours = new_response(raw, prep.url or "", prep, timedelta(microseconds=5), raw.data)
        reference = HTTPAdapter().build_response(
            prep, _raw(headers, body=b'{"a": 1}', status=201, stream=True)
        )
        assert type(ours) is requests.Response
        assert set(ours.__dict__) == set(reference.__dict__) - {"connection"}
        for attr in ("status_code", "encoding", "reason", "url", "content", "text",
                     "is_redirect", "ok", "history", "links", "next"):
            assert getattr(ours, attr) == getattr(reference, attr), attr
        assert list(ours.headers.items()) == list(reference.headers.items())
        assert ours.request is prep and ours.raw is raw
        assert ours.elapsed == timedelta(microseconds=5)
        assert type(ours.cookies) is RequestsCookieJar and len(ours.cookies) == 0
        assert ours.json() == {"a": 1}

    def test_each_response_has_its_own_cookie_jar_and_pickles(self) -> None:
        prep = PreparedRequest()
        prep.prepare(method="GET", url="http://127.0.0.1:9/x")
        one = new_response(_raw([]), "u", prep, timedelta(0), b"{}")
        two = new_response(_raw([]), "u", prep, timedelta(0), b"{}")
        one.cookies.set("k", "v")
        assert one.cookies is not two.cookies and len(two.cookies) == 0
        clone = pickle.loads(pickle.dumps(one))
        assert clone.content == one.content and clone.cookies.get("k") == "v"

    def test_prepared_same_as_constructor(self) -> None:
        headers = CaseInsensitiveDict({"Accept": "*/*"})
        ours = new_prepared("POST", "http://h:1/x", headers, b"{}")
        reference = PreparedRequest()
        reference.method, reference.url = "POST", "http://h:1/x"
        reference.headers, reference.body = headers, b"{}"
        assert type(ours) is PreparedRequest and ours.__dict__ == reference.__dict__
        ours.hooks["response"].append(print)  # hooks are not shared between requests
        assert new_prepared("GET", "u", headers, None).hooks == {"response": []}
        assert ours.copy().__dict__ == ours.__dict__ | {"headers": ours.headers}


class TestEndpointsAndURLs:
    """The client groups requests into endpoints and joins URLs; both are memoised."""

    def test_endpoint_keys_collapse_ids(self, echo_url: str) -> None:
        with BaseAPIClient(echo_url + "/api", enable_connection_warmup=False) as api:
            for path in ("/pets/1", "/pets/2?x=1", "/a/123e4567-e89b-12d3-a456-426614174000/b"):
                api.get(path)
            api.delete("/pets/1")
            keys = {r["endpoint"]: r["count"] for r in api.endpoint_stats()}
        assert keys == {"GET /pets/{id}": 2, "GET /a/{id}/b": 1, "DELETE /pets/{id}": 1}

    def test_a_changed_base_url_is_followed(self, echo_url: str) -> None:
        with BaseAPIClient(echo_url + "/one", enable_connection_warmup=False) as api:
            assert api.get("/x").json()["path"] == "/one/x"
            api.base_url = echo_url + "/two"
            assert api.get("/x").json()["path"] == "/two/x"


class TestShortPathUnits:
    """What the short path accepts, how it splits URLs, and that its memos stay bounded."""

    @pytest.mark.parametrize(("url", "split"), [
        ("http://h:8/a/b?c=1&d=%20", ("http://h:8", "/a/b?c=1&d=%20")),
        ("https://example.test", ("https://example.test", "/")),
        ("http://h/a b", None),  # not a plain URL: goes through the Session
        ("http://user:pw@h/", None),
    ])
    def test_split(self, url: str, split: tuple[str, str] | None) -> None:
        short = _short()
        assert short.split(url) == split
        assert short.split(url) == split  # the memo's answer is the same

    def test_memos_are_bounded(self) -> None:
        short = _short()
        for i in range(5000):
            assert short.split(f"http://h:1/p{i}") == ("http://h:1", f"/p{i}")
        assert short.cache_info()["targets"] <= 1024

    @pytest.mark.parametrize(("kwargs", "accepted"), [
        ({}, True),
        ({"params": {"q": 1}, "json": {"a": 1}, "headers": {"X": "1"}, "timeout": 3}, True),
        ({"data": b"raw"}, True),
        ({"data": {"form": "1"}}, False),  # form encoding: the Session does it
        ({"files": {"f": b"x"}}, False),
        ({"stream": True}, False),
        ({"auth": ("u", "p")}, False),
        ({"cookies": {"c": "1"}}, False),
    ])
    def test_accepts(self, kwargs: dict[str, Any], accepted: bool) -> None:
        assert _short().accepts(kwargs) is accepted

    def test_session_state_sends_everything_through_the_session(self) -> None:
        short = _short()
        short.session.auth = ("u", "p")
        assert not short.accepts({})
        short.session.auth = None
        short.session.hooks["response"].append(lambda r, **kw: r)
        assert not short.accepts({})
        short.session.hooks["response"].clear()
        short.session.proxies["http"] = "http://proxy:1"
        assert not short.accepts({})
        short.session.proxies.clear()
        assert short.accepts({})

    def test_cookies_in_the_jar_send_through_the_session(self) -> None:
        short = _short()
        jar = short.session.cookies
        jar.set("sid", "1", domain="h.test", path="/")
        assert not short.accepts({})
        jar.clear("h.test", "/", "sid")  # leaves empty nested dicts behind: still empty
        assert short.accepts({})

    def test_header_template_rebuilt_after_a_change(self) -> None:
        short = _short()
        first = short.default_headers()
        assert first is not None and short.default_headers() is first
        short.session.headers["X-New"] = "1"
        second = short.default_headers()
        assert second is not first and second is not None and second.plain["X-New"] == "1"
        short.session.headers = {"Only": "this"}  # type: ignore[assignment]
        assert short.default_headers() is None  # not versioned: built per request


class TestLockFreeCounters:
    """Counters updated without a lock stay exact under many threads."""

    def test_endpoint_records_exact(self) -> None:
        stats = EndpointStats()
        statuses: list[int | None] = [200, 404, 503, None]
        threads, per_thread = 8, 2000

        def work(n: int) -> None:
            for i in range(per_thread):
                stats.record(f"GET /e{i % 3}", float(n), statuses[i % 4])

        _run_threads(threads, work)
        rows = {r["endpoint"]: r for r in stats.rows()}
        assert sum(r["count"] for r in rows.values()) == threads * per_thread
        total: dict[str, int] = {}
        errors = 0
        for row in rows.values():
            errors += row["errors"]
            for code, count in row["statuses"].items():
                total[code] = total.get(code, 0) + count
        quarter = threads * per_thread // 4
        assert total == {"200": quarter, "404": quarter, "503": quarter}
        assert errors == 2 * quarter  # 503s and no-response

    def test_warmup_threads_are_not_counted(self) -> None:
        stats = PoolStats()
        host = stats.host("http://h:1")
        ready = threading.Barrier(2)

        def warm() -> None:
            stats.in_warmup = True
            ready.wait()
            stats.on_send(host, False)
            stats.on_connect(host)
            ready.wait()
            stats.in_warmup = False

        thread = threading.Thread(target=warm)
        thread.start()
        ready.wait()
        stats.on_send(host, True)  # another thread while warm-up runs: counted
        ready.wait()
        thread.join()
        stats.in_warmup = False  # setting False twice must not unbalance the count
        assert (host.requests_sent, host.connections_reused) == (1, 1)
        assert (host.connections_created, host.warmup_connections) == (1, 1)
        other = threading.Thread(target=lambda: stats.on_send(host, False))
        other.start()
        other.join()
        stats.on_send(host, True)  # after warm-up, every thread counts again
        assert (host.requests_sent, host.connections_reused) == (3, 2)


def _run_threads(count: int, work: Callable[[int], Any]) -> None:
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
