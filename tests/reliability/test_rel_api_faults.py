"""The API client against faulty and hostile servers.

The demo API dropping connections and answering 5xx: retries as configured, failures
reported per endpoint. Hostile servers (trickling, bombing, sleeping) and settings that
cannot work: every wait bounded, every body capped, every bad setting refused at start-up.
"""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qhub.api import APIClient
from qhub.demo import DemoServer
from qhub.exceptions import (
    APIResponseTooLargeError,
    APITimeoutError,
    ConfigError,
    ResponseValidationError,
)

FEATURE = """\
Feature: a flaky API

  Scenario: reads survive 503s and dropped connections
    Given the server answers 503 to the next 2 requests
    When I GET "/pets" 3 times
    Then every answer was 200
    Given the server drops the next 1 connections
    When I GET "/health" 2 times
    Then every answer was 200

  Scenario: retries run out, the last 503 is the answer
    Given the server answers 503 to the next 4 requests
    When I GET "/orders" 1 times
    Then the answer was 503

  Scenario: keep-alive connections closed by the server every 2nd request
    Given the server closes connections every 2 requests
    When I GET "/health" 6 times
    Then every answer was 200

  Scenario: a POST is not retried, its failure is reported
    Given the server drops the next 1 connections
    When I POST a pet
    Then the POST failed with a clear one-line error
    When I POST a pet
    Then the answer was 201
"""

STEPS = """\
from behave import given, then, when


def faults(context, **knobs):
    response = context.api.post("/_admin/faults", json=knobs)
    assert response.status_code == 204, response.status_code


@given("the server answers 503 to the next {n:d} requests")
def step_fail(context, n):
    faults(context, fail_next=n, fail_status=503)


@given("the server drops the next {n:d} connections")
def step_drop(context, n):
    faults(context, drop_next=n)


@given("the server closes connections every {n:d} requests")
def step_close(context, n):
    faults(context, close_every=n)


@when('I GET "{path}" {n:d} times')
def step_get(context, path, n):
    context.statuses = [context.api.get(path).status_code for _ in range(n)]


@when("I POST a pet")
def step_post(context):
    from qhub import APIClientError

    context.error = None
    try:
        context.statuses = [context.api.post("/pets", json={"name": "Rex"}).status_code]
    except APIClientError as exc:
        context.error = exc


@then("the POST failed with a clear one-line error")
def step_post_failed(context):
    message = str(context.error)
    assert context.error is not None and "\\n" not in message, repr(message)
    assert "POST" in message and "/pets" in message, message


@then("every answer was 200")
def step_all_ok(context):
    assert context.statuses and set(context.statuses) == {200}, context.statuses


@then("the answer was {code:d}")
def step_answer(context, code):
    assert context.statuses == [code], context.statuses
"""


def _row(report: dict, endpoint: str) -> dict:
    rows = report["stats"]["api_endpoints"]["default"]
    matches = [r for r in rows if r["endpoint"] == endpoint]
    assert matches, f"no endpoint row {endpoint!r} in {[r['endpoint'] for r in rows]}"
    return matches[0]


def test_retries_and_per_endpoint_failures(tmp_path: Path, kit, behave_run) -> None:
    """GETs are retried through 503s, a dropped connection and server-side closes; a POST
    is not retried; the report counts retries and the POST failure under its endpoint."""
    kit.write_project(tmp_path, {"flaky.feature": FEATURE}, {"api_steps.py": STEPS})
    with DemoServer() as server:
        env = kit.qhub_env(
            tmp_path,
            QHUB_API_BASE_URL=server.url,
            QHUB_API_RETRIES="3",
            QHUB_API_BACKOFF_FACTOR="0.01",
            QHUB_API_ENABLE_WARMUP="false",
            QHUB_CACHE_BACKEND="memory",
        )
        result = behave_run(tmp_path, env=env)
        served = server.stats()
    assert result.returncode == 0, result.output
    assert "4 scenarios passed, 0 failed" in result.stdout

    report = kit.latest_json_report(tmp_path)
    api = report["stats"]["api"]["default"]
    # Retried: 2 GETs answered 503, 1 GET on a dropped connection, 3 GETs of /orders
    # (retries=3, then the 4th 503 is returned); the POST on a dropped connection is not
    # retried (not idempotent).
    assert api["retries"] == 6, api
    assert api["failed_requests"] == 1, api
    assert served["requests"] == api["requests_sent"], (served, api)
    assert served["connections_accepted"] >= 5, served  # 2 drops, 3 server-side closes

    post = _row(report, "POST /pets")
    assert post["count"] == 2 and post["errors"] == 1, post
    assert post["statuses"].get("201") == 1, post
    health = _row(report, "GET /health")
    assert health["count"] == 8 and health["statuses"] == {"200": 8}, health
    orders = _row(report, "GET /orders")
    assert orders["count"] == 1 and orders["statuses"] == {"503": 1}, orders
    assert orders["errors"] == 1, orders
    pets = _row(report, "GET /pets")
    assert pets["statuses"] == {"200": 3}, pets


# --------------------------------------------------------------------------------------
# Hostile servers (issue 15, classes 3, 4 and 6 for the API client). Each case below hung,
# ran out of memory, slept for an hour or failed with a traceback before the fix; now it
# ends within its limit with one clear line.
# --------------------------------------------------------------------------------------


def _gzip_zeros(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes: 64 MiB members, concatenated (gzip allows it)."""
    member = gzip.compress(bytes(64 << 20), 9)
    return member * (size >> 26)


def _deflate_zeros(size: int) -> bytes:
    """A zlib-wrapped deflate body of ``size`` zero bytes (Content-Encoding: deflate)."""
    packer = zlib.compressobj(1)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """A 2 MB gzip body that inflates to 2 GiB, and a 5 MB deflate one to 1 GiB."""
    return {"gzip": _gzip_zeros(2 << 30), "deflate": _deflate_zeros(1 << 30)}


class HostileServer:
    """A raw-socket HTTP/1.1 server on 127.0.0.1; each path misbehaves in one way.

    It reads one request per connection, answers as the path says, then closes (the
    well-behaved answers say ``Connection: close``). Writes fail quietly once the client
    hangs up (what a hostile server would not care about).
    """

    def __init__(self, bombs: dict[str, bytes]) -> None:
        self.bombs = bombs
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.hits: dict[str, int] = {}
        self.hold = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.hold.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                method, target = request.split(b" ", 2)[:2]
                path = target.decode().split("?", 1)[0]
                self.hits[path] = self.hits.get(path, 0) + 1
                getattr(self, "_" + path.strip("/").replace("-", "_"))(conn, method)
            except OSError:
                return

    def _drip(self, conn: socket.socket, data: bytes, every: float) -> None:
        for byte in data:
            if self._stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(every)

    # -- class 3: waits without a bound
    def _trickle(self, conn: socket.socket, method: bytes) -> None:
        """A chunked body that never ends: one byte every 0.1 s, each read is quick."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not self._stop.is_set():
            conn.sendall(b"1\r\nx\r\n")
            time.sleep(0.1)

    def _slow_body(self, conn: socket.socket, method: bytes) -> None:
        """Content-Length 100000, sent one byte every 0.05 s."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        self._drip(conn, bytes(100000), 0.05)

    def _slow_headers(self, conn: socket.socket, method: bytes) -> None:
        """Header lines that never end, one byte every 0.05 s."""
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not self._stop.is_set():
            self._drip(conn, b"X-Padding: " + b"a" * 1000 + b"\r\n", 0.05)

    def _retry_after(self, conn: socket.socket, method: bytes) -> None:
        """503 asking the client to come back in an hour (urllib3 would sleep that long)."""
        conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: 3600\r\nContent-Length: 0\r\n\r\n")

    def _held(self, conn: socket.socket, method: bytes) -> None:
        """Headers now, the body only when the test releases it."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        self.hold.wait(60)
        conn.sendall(b"ok")

    def _ok(self, conn: socket.socket, method: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    # -- class 4: bodies without a bound
    def _gzip_bomb(self, conn: socket.socket, method: bytes) -> None:
        body = self.bombs["gzip"]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)

    def _deflate_bomb(self, conn: socket.socket, method: bytes) -> None:
        body = self.bombs["deflate"]
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)

    def _double_gzip(self, conn: socket.socket, method: bytes) -> None:
        body = gzip.compress(self.bombs["gzip"])  # a gzip bomb, gzipped again
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)

    def _huge_length(self, conn: socket.socket, method: bytes) -> None:
        """Declares 10 GB and streams zeros for as long as the client reads."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        block = bytes(1 << 20)
        while not self._stop.is_set():
            conn.sendall(block)

    def _endless(self, conn: socket.socket, method: bytes) -> None:
        """No length, no chunks: the body ends when the connection does (never)."""
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        block = bytes(1 << 20)
        while not self._stop.is_set():
            conn.sendall(block)

    def _endless_chunks(self, conn: socket.socket, method: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = b"100000\r\n" + bytes(1 << 20) + b"\r\n"
        while not self._stop.is_set():
            conn.sendall(block)

    def _redirect_bomb(self, conn: socket.socket, method: bytes) -> None:
        """A redirect whose own body is the gzip bomb (requests reads it to free the
        connection before following)."""
        body = self.bombs["gzip"]
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def _deep_json(self, conn: socket.socket, method: bytes) -> None:
        body = b"[" * 200000 + b"]" * 200000
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)


@pytest.fixture
def hostile(bombs: dict[str, bytes]) -> Iterator[HostileServer]:
    server = HostileServer(bombs)
    try:
        yield server
    finally:
        server.close()


def _api(url: str, **settings: Any) -> APIClient:
    settings.setdefault("enable_connection_warmup", False)
    return APIClient(url, **settings)


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, repr(message)
    return message


@pytest.mark.timeout(90)
class TestEveryWaitHasABound:
    """Class 3: the total deadline (``api.total_timeout``) ends what per-read timeouts
    cannot; sleeps and pool waits are bounded by it too. The guard is generous (30 s)."""

    @pytest.mark.parametrize("path", ["/trickle", "/slow-body", "/slow-headers"])
    def test_a_trickling_server_meets_the_total_deadline(
        self, hostile: HostileServer, path: str
    ) -> None:
        started = time.monotonic()
        with _api(hostile.url, read_timeout=2, total_timeout=1.5, retries=0) as api:
            with pytest.raises(APITimeoutError) as caught:
                api.get(path)
        assert time.monotonic() - started < 30
        message = _one_line(caught.value)
        assert f"GET {hostile.url}{path}" in message
        assert "total deadline of 1.5 s (api.total_timeout" in message

    def test_the_deadline_covers_retries(self, hostile: HostileServer) -> None:
        """Retries of a trickling GET do not each get a fresh deadline."""
        started = time.monotonic()
        with _api(hostile.url, read_timeout=2, total_timeout=1.5, retries=5) as api:
            with pytest.raises(APITimeoutError, match="total deadline"):
                api.get("/trickle")
        assert time.monotonic() - started < 30
        assert hostile.hits["/trickle"] <= 2

    def test_retry_after_an_hour_is_cut_to_the_deadline(self, hostile: HostileServer) -> None:
        started = time.monotonic()
        with _api(hostile.url, total_timeout=1.5, retries=2) as api:
            with pytest.raises(APITimeoutError, match=r"total deadline of 1\.5 s"):
                api.get("/retry-after")
        assert time.monotonic() - started < 30

    def test_a_blocking_pool_waits_for_a_connection_at_most_until_the_deadline(
        self, hostile: HostileServer
    ) -> None:
        """pool_block with every connection busy: urllib3 alone waits forever."""
        with _api(hostile.url, pool_maxsize=1, pool_block=True, total_timeout=1.5,
                  retries=0) as api:
            held = api.get("/held", stream=True)  # keeps the only connection checked out
            started = time.monotonic()
            with pytest.raises(APITimeoutError) as caught:
                api.get("/ok")
            assert time.monotonic() - started < 30
            message = _one_line(caught.value)
            assert "pool" in message or "total deadline" in message
            hostile.hold.set()
            assert held.content == b"ok"
            assert api.get("/ok").content == b"ok"  # the pool is usable again


_BOMB_CHILD = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB for the whole process
from qhub.api import APIClient
from qhub.exceptions import APIClientError
api = APIClient(sys.argv[1], enable_connection_warmup=False, retries=0)
try:
    response = api.get(sys.argv[2])
except APIClientError as exc:
    print(type(exc).__name__, exc)
else:
    print("read", len(response.content), "bytes")
"""


@pytest.mark.timeout(120)
class TestBodiesHaveACap:
    """Class 4: a response body is read into memory only up to ``api.max_response_mb``
    (default 64 MB) *after* decompression; bombs run in a child process limited to
    1 GiB of address space, where the old client died of MemoryError."""

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/gzip-bomb", "reached 67,108,865 bytes"),
            ("/deflate-bomb", "reached 67,108,865 bytes"),
            ("/huge-length", "declares 10,000,000,000 bytes"),
            ("/endless", "reached 67,108,865 bytes"),
            ("/endless-chunks", "reached 67,108,865 bytes"),
            ("/redirect-bomb", "reached 67,108,865 bytes"),
        ],
    )
    def test_bomb_in_a_child_with_1_gib(
        self, hostile: HostileServer, path: str, expected: str
    ) -> None:
        proc = subprocess.run(
            [sys.executable, "-c", _BOMB_CHILD, hostile.url, path],
            capture_output=True, text=True, timeout=100, check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        line = proc.stdout.strip()
        assert line.startswith("APIResponseTooLargeError GET "), line
        assert expected in line and "api.max_response_mb" in line, line

    def test_the_cap_is_configurable_and_the_client_stays_usable(
        self, hostile: HostileServer
    ) -> None:
        with _api(hostile.url, max_response_mb=0.5, retries=0) as api:
            with pytest.raises(APIResponseTooLargeError, match=r"524,288 \(api\.max_resp"):
                api.get("/gzip-bomb")
            assert api.get("/ok").content == b"ok"
            stats = api.stats()
        assert stats["failed_requests"] == 1 and stats["requests"] == 2

    def test_nested_gzip_is_capped_too(self, hostile: HostileServer) -> None:
        with _api(hostile.url, max_response_mb=1, retries=0) as api:
            with pytest.raises(APIResponseTooLargeError):
                api.get("/double-gzip")

    def test_a_deeply_nested_json_body_is_a_clear_error(self, hostile: HostileServer) -> None:
        with _api(hostile.url, retries=0) as api:
            response = api.get("/deep-json")
            with pytest.raises(ResponseValidationError) as caught:
                api.json_of(response)
        assert "response body is not JSON" in _one_line(caught.value)


FEATURE_BAD_SETTING = """\
Feature: any
  Scenario: never runs
    Given nothing
"""

STEPS_NOTHING = """\
from behave import given

@given("nothing")
def step_nothing(context):
    pass
"""


@pytest.mark.timeout(120)
class TestSettingsThatCannotWork:
    """Class 6: API settings that used to pass validation and break at the first request
    (or never) now stop ``behave`` at start-up with one ``qhub: error:`` line."""

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({"QHUB_API_HEADERS": '{"X-Bad\\nName": "v"}'},
             "api.headers=<redacted> (from environment variable QHUB_API_HEADERS): header "
             "name 'X-Bad\\nName' is not a valid HTTP header name"),
            ({"QHUB_API_HEADERS": '{"X-Ok": "v\\r\\nX-Injected: 1"}'},
             "header 'X-Ok' has a line break or NUL in its value"),
            ({"QHUB_API_BASE_URL": "localhost:8080"},
             "api.base_url='localhost:8080' (from environment variable QHUB_API_BASE_URL): "
             "must start with http:// or https:// and name a host"),
            ({"QHUB_API_AUTH_TOKEN": "abc\ndef"},
             "api.auth_token=<redacted> (from environment variable QHUB_API_AUTH_TOKEN): "
             "must be one word without spaces, line breaks or control characters"),
            ({"QHUB_API_READ_TIMEOUT": "1e300"},
             "api.read_timeout='1e300' (from environment variable QHUB_API_READ_TIMEOUT)"),
            ({"QHUB_API_RETRY_STATUSES": "503,42"}, "api.retry_statuses='503,42'"),
            ({"QHUB_API_WARMUP_PATH": "health check"},
             "api.warmup_path='health check' (from environment variable QHUB_API_WARMUP_PATH):"
             " must be a path starting with '/'"),
            ({"QHUB_API_POOL_MAXSIZE": "1000000000"}, "api.pool_maxsize='1000000000'"),
            ({"QHUB_API_TOTAL_TIMEOUT": "1e300"}, "api.total_timeout='1e300'"),
        ],
    )
    def test_refused_at_start_up(
        self, tmp_path: Path, kit: Any, behave_run: Any, env: dict[str, str], expected: str
    ) -> None:
        kit.write_project(tmp_path, {"any.feature": FEATURE_BAD_SETTING},
                          {"steps.py": STEPS_NOTHING})
        settings = {"QHUB_API_BASE_URL": "http://127.0.0.1:9", **env}
        result = behave_run(tmp_path, env=kit.qhub_env(tmp_path, **settings))
        assert result.returncode != 0
        assert "Traceback" not in result.output, result.output[-3000:]
        errors = [line for line in result.output.splitlines() if line.startswith("qhub: error:")]
        assert len(errors) == 1, result.output[-3000:]
        assert expected in errors[0], errors[0]
        assert "1 scenario passed" not in result.stdout

    def test_the_constructor_checks_the_same(self) -> None:
        with pytest.raises(ConfigError, match=r"\(from APIClient\(\)\): header name 'X-Bad"):
            APIClient("http://h", headers={"X-Bad\nName": "v"})
        with pytest.raises(ConfigError, match=r"api\.base_url='ftp://h' \(from APIClient"):
            APIClient("ftp://h")
        with pytest.raises(ConfigError, match=r"api\.read_timeout=1e\+300 \(from APIClient"):
            APIClient("http://h", read_timeout=1e300)
