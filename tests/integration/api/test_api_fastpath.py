"""The short path on a real server: taken when it should be (counted per path), same
responses as ``requests.Session``, cookies kept, header changes picked up, and exact
counts from many threads."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from requests.cookies import RequestsCookieJar

from qhub.api import BaseAPIClient
from qhub.demo.server import DemoServer

pytestmark = pytest.mark.timeout(60)


class _Handler(BaseHTTPRequestHandler):
    """Answers that exercise response building: duplicate headers, cookies, charsets."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/dup":
            self._send(200, b'{"ok": true}', [
                ("Content-Type", "application/json"), ("X-Dup", "a"), ("x-dup", "b"),
                ("Set-Cookie", "one=1; Path=/"), ("Set-Cookie", "two=2; Path=/"),
            ])
        elif path == "/html":
            self._send(200, "caf\u00e9".encode("latin-1"),
                       [("Content-Type", "text/html; charset=latin-1")])
        elif path == "/bare":
            self._send(200, b"no type", [])
        elif path == "/empty":
            self._send(204, b"", [])
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._send(200, json.dumps(headers).encode(), [("Content-Type", "application/json")])

    do_HEAD = do_GET


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _client(url: str, **kwargs: Any) -> BaseAPIClient:
    return BaseAPIClient(url, enable_connection_warmup=False, **kwargs)


class TestSameAsRequests:
    """Fast-path responses equal what a plain ``requests.Session`` returns."""

    @pytest.mark.parametrize("path", ["/dup", "/html", "/bare", "/empty", "/echo?q=1"])
    def test_response_matches_session(self, server: str, path: str) -> None:
        with _client(server) as api, requests.Session() as session:
            ours = api.get(path)
            theirs = session.get(server + path, timeout=5)
        assert type(ours) is requests.Response
        for attr in ("status_code", "reason", "url", "encoding", "content", "text", "ok",
                     "is_redirect", "history", "apparent_encoding"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        skip = {"date"}
        assert [(k, v) for k, v in ours.headers.items() if k.lower() not in skip] == [
            (k, v) for k, v in theirs.headers.items() if k.lower() not in skip
        ]
        assert ours.cookies.get_dict() == theirs.cookies.get_dict()
        assert ours.request.method == "GET" and ours.request.url == theirs.request.url
        assert ours.elapsed.total_seconds() > 0
        assert api.stats()["paths"] == {"short": 1, "session": 0}

    def test_head_matches_session(self, server: str) -> None:
        with _client(server) as api, requests.Session() as session:
            ours, theirs = api.head("/dup"), session.head(server + "/dup", timeout=5)
        assert ours.content == theirs.content == b""
        assert ours.headers["x-dup"] == theirs.headers["x-dup"] == "a, b"


class TestWhichPath:
    """The transport counts which path served each request: if the short path silently
    stops being taken, these fail."""

    def test_plain_requests_take_the_short_path(self, server: str) -> None:
        with _client(server, headers={"X-Team": "qa"}) as api:
            api.get("/dup")  # sets cookies: later requests need the Session
            api.session.cookies.clear()
            api.get("/echo", params={"q": "1"}, headers={"X-Call": "1"}, timeout=5)
            api.post("/echo", json={"a": 1})
            api.put("/echo", data=b"raw")
            api.head("/html")
            stats = api.stats()
        assert stats["short_path"] is True
        assert stats["paths"] == {"short": 5, "session": 0}
        assert stats["requests"] == stats["requests_sent"] == 5

    def test_what_the_short_path_cannot_do_goes_through_the_session(self, server: str) -> None:
        with _client(server) as api:
            api.get("/echo", data={"form": "1"})  # form-encoded body
            api.get("/echo", stream=True).close()
            api.get("/echo", auth=("u", "pw"))
            api.get("/dup")  # short; stores cookies in the session jar
            api.get("/echo")  # cookies to send: Session
            paths = api.stats()["paths"]
        assert paths == {"short": 1, "session": 4}

    def test_switched_off_everything_goes_through_the_session(self, server: str) -> None:
        with _client(server, short_path=False) as api, _client(server) as fast:
            for path in ("/dup", "/html", "/bare", "/empty", "/echo?q=1"):
                slow, quick = api.get(path), fast.get(path)
                assert (slow.status_code, slow.content, slow.encoding) == (
                    quick.status_code, quick.content, quick.encoding
                )
            assert api.stats()["paths"] == {"short": 0, "session": 5}
            assert api.stats()["short_path"] is False
            assert fast.stats()["paths"]["short"] == 1  # /dup set cookies: the rest Session


class TestPoolEviction:
    """More hosts than ``pool_connections``: the pool manager evicts (and closes) pools
    that the short path may still hold; it looks the host up again and carries on."""

    def test_two_hosts_one_pool_slot(self, server: str) -> None:
        other = server.replace("127.0.0.1", "localhost")
        with _client(server, pool_connections=1) as api:
            for i in range(20):
                assert api.get((server if i % 2 else other) + "/echo").status_code == 200
            stats = api.stats()
        assert stats["paths"] == {"short": 20, "session": 0}
        assert stats["failed_requests"] == 0 and stats["requests_sent"] == 20


class TestCookies:
    """``Set-Cookie`` is still honoured; responses without one get an empty jar."""

    def test_set_cookie_is_stored(self, server: str) -> None:
        with _client(server) as api:
            plain = api.get("/bare")
            assert type(plain.cookies) is RequestsCookieJar and len(plain.cookies) == 0
            assert len(api.session.cookies) == 0
            response = api.get("/dup")
            assert response.cookies.get_dict() == {"one": "1", "two": "2"}
            assert api.session.cookies.get_dict() == {"one": "1", "two": "2"}
            sent = api.get("/echo").json()  # now through the Session: cookies go along
        assert sent["cookie"] in ("one=1; two=2", "two=2; one=1")


class TestDefaultHeaders:
    """Session headers are merged once, but every change to them is sent."""

    def test_changes_are_sent(self, server: str) -> None:
        with _client(server, headers={"X-Team": "qa"}, auth_token="s3cret") as api:
            first = api.get("/echo").json()
            assert first["x-team"] == "qa" and first["authorization"] == "Bearer s3cret"
            api.session.headers["X-Team"] = "dev"
            api.session.headers.update({"X-More": "1"})
            del api.session.headers["Authorization"]
            second = api.get("/echo").json()
            assert second["x-team"] == "dev" and second["x-more"] == "1"
            assert "authorization" not in second
            api.session.headers = {"X-Only": "this"}
            third = api.get("/echo").json()
            assert third["x-only"] == "this" and "x-team" not in third

    def test_per_call_headers_and_request_copies(self, server: str) -> None:
        with _client(server, headers={"X-Team": "qa"}) as api:
            one = api.get("/echo", headers={"X-Call": "1", "X-Team": None})
            assert one.json().get("x-call") == "1" and "x-team" not in one.json()
            assert "X-Team" not in one.request.headers
            one.request.headers["X-Mutated"] = "yes"  # must not leak into later requests
            two = api.get("/echo")
            assert "x-mutated" not in two.json() and two.json()["x-team"] == "qa"
            assert two.request.headers["x-team"] == "qa"
            assert two.request.headers is not one.request.headers


class TestThreads:
    """Counters stay exact when many threads share one client."""

    def test_exact_counts(self) -> None:
        threads, per_thread = 6, 40
        with DemoServer() as demo, _client(demo.url, pool_maxsize=threads) as api:

            def work(n: int) -> None:
                for i in range(per_thread):
                    path = "/health" if i % 2 else f"/pets/{900000 + n * 100 + i}"
                    api.get(path)

            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, range(threads)))
            stats = api.get_pool_stats()
            rows = {r["endpoint"]: r for r in api.endpoint_stats()}
        total = threads * per_thread
        assert stats["requests"] == stats["requests_sent"] == total
        assert stats["failed_requests"] == 0
        assert rows["GET /health"]["count"] == total // 2
        assert rows["GET /health"]["statuses"] == {"200": total // 2}
        assert rows["GET /pets/{id}"]["count"] == total // 2  # ids collapsed
        assert rows["GET /pets/{id}"]["statuses"] == {"404": total // 2}
        assert rows["GET /pets/{id}"]["errors"] == 0
