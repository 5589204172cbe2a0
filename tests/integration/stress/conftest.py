"""A server that knows the truth, and throw-away behave projects for ``qhub stress``.

:class:`TruthServer` answers on 127.0.0.1 with known delays and records, per request, its
own service time (from the request line read to the response written) and how many
connections and requests it had open at once. qhub's client-side figures are checked
against these records, not against themselves.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import signals_deliverable

REPO_ROOT = Path(__file__).resolve().parents[3]


def nearest_rank(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (what HDR histograms report)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connection_opened()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_closed()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        start = time.perf_counter()
        srv = self.server
        srv.request_started()
        try:
            path = self.path.split("?", 1)[0]
            delay = srv.delay_for(path)
            if delay is None:
                self._reply(404, b'{"error": "no route"}')
                return
            with srv.lock:
                srv.nominal.append((path, delay * 1000.0))
            if delay:
                time.sleep(delay)
            self._reply(200, b'{"ok": true}')
        finally:
            srv.request_ended(self.path, (time.perf_counter() - start) * 1000.0)

    do_HEAD = do_GET

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.records: list[tuple[str, float, float]] = []
        self.nominal: list[tuple[str, float]] = []
        """(path, the delay the server meant to add in ms) per request."""
        self.open_connections = self.max_connections = 0
        self.in_flight = self.max_in_flight = 0
        self.bimodal_counter = 0
        self.fixed_s = 0.020
        self.stall_s = 0.0
        self.stall_at: float | None = None

    def connection_opened(self) -> None:
        with self.lock:
            self.open_connections += 1
            self.max_connections = max(self.max_connections, self.open_connections)

    def connection_closed(self) -> None:
        with self.lock:
            self.open_connections -= 1

    def request_started(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def request_ended(self, path: str, ms: float) -> None:
        with self.lock:
            self.in_flight -= 1
            self.records.append((path.split("?", 1)[0], time.perf_counter(), ms))

    def delay_for(self, path: str) -> float | None:
        if path in ("/", "/health"):
            return 0.0
        if path == "/fixed":
            return self.fixed_s
        if path == "/bimodal":
            with self.lock:
                self.bimodal_counter += 1
                slow = self.bimodal_counter % 10 == 0
            return 0.100 if slow else 0.005
        if path == "/stall":
            with self.lock:
                stall_at, stall = self.stall_at, self.stall_s
                if stall_at is not None and time.perf_counter() >= stall_at:
                    self.stall_at = None
                    return stall
            return 0.002
        return None


@dataclass
class TruthServer:
    """The running server (see the module docstring)."""

    server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def service_ms(self, path: str) -> list[float]:
        with self.server.lock:
            return [ms for p, _, ms in self.server.records if p == path]

    def clear(self) -> None:
        """Forget the records so far."""
        with self.server.lock:
            self.server.records.clear()
            self.server.nominal.clear()

    def nominal_ms(self, path: str) -> list[float]:
        """The delays the server meant to add to ``path``'s requests (ms)."""
        with self.server.lock:
            return [ms for p, ms in self.server.nominal if p == path]

    def count(self, path: str | None = None) -> int:
        with self.server.lock:
            return sum(1 for p, _, _ in self.server.records if path is None or p == path)

    def stall_once(self, seconds: float, after_s: float) -> None:
        """The first /stall request at least ``after_s`` from now takes ``seconds``."""
        with self.server.lock:
            self.server.stall_s = seconds
            self.server.stall_at = time.perf_counter() + after_s

    @property
    def max_connections(self) -> int:
        return self.server.max_connections

    @property
    def max_in_flight(self) -> int:
        return self.server.max_in_flight


@pytest.fixture
def truth_server() -> Iterator[TruthServer]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield TruthServer(server)
    finally:
        server.shutdown()
        server.server_close()


ENVIRONMENT = """
from qhub.behave import install


def before_all(context):
    install(context)
"""

STEPS = """
from qhub.steps import *  # noqa: F403
"""


def make_project(
    root: Path,
    features: dict[str, str],
    *,
    steps: str = STEPS,
    environment: str = ENVIRONMENT,
) -> Path:
    """A behave project in ``root``: features/<name>, steps/steps.py, environment.py."""
    (root / "features" / "steps").mkdir(parents=True, exist_ok=True)
    for name, text in features.items():
        (root / "features" / name).write_text(textwrap.dedent(text))
    (root / "features" / "steps" / "steps.py").write_text(textwrap.dedent(steps))
    (root / "features" / "environment.py").write_text(textwrap.dedent(environment))
    return root


@dataclass
class StressProcess:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def stress_env(root: Path, base_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_", "STRESS_"))}
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_COLOR": "1",
            "QHUB_PROFILING_HISTORY_DB": str(root / ".qhub" / "history.db"),
            "QHUB_CACHE_PATH": str(root / ".qhub" / "cache.db"),
            "QHUB_REPORT_DIR": str(root / "reports"),
            "QHUB_CACHE_BACKEND": "memory",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p
            ),
        }
    )
    if base_url is not None:
        env["QHUB_API_BASE_URL"] = base_url
    env.update(extra)
    return env


def start_stress(root: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    with signals_deliverable():  # the tests send it signals
        return subprocess.Popen(
            [sys.executable, "-m", "qhub", "stress", *args],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def finish(root: Path, proc: subprocess.Popen[str], timeout: float = 120) -> StressProcess:
    out, err = proc.communicate(timeout=timeout)
    path = root / "reports" / "stress.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return StressProcess(proc.returncode, out, err, report)


def run_stress(
    root: Path, *args: str, base_url: str | None, timeout: float = 120, **extra_env: str
) -> StressProcess:
    """``qhub stress ARGS`` in ``root`` as a real subprocess; the JSON report parsed."""
    env = stress_env(root, base_url, **extra_env)
    return finish(root, start_stress(root, *args, env=env), timeout)


def endpoint(report: dict[str, Any], key: str) -> dict[str, Any]:
    for row in report["endpoints"]:
        if row["key"] == key:
            return row
    raise AssertionError(f"no endpoint {key!r} in {[r['key'] for r in report['endpoints']]}")


FIXED_AND_HEALTH = {
    "f.feature": """
        Feature: F
          @fixed
          Scenario: fixed
            When I GET "/fixed"
            Then the response status is 200

          @health
          Scenario: health
            When I GET "/health"
            Then the response status is 200
        """
}
"""Two scenarios, ``@fixed`` (GET /fixed) and ``@health`` (GET /health), each checking for 200."""
