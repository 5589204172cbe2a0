"""A stress run stopped by Ctrl-C, SIGTERM or a second signal still reports what it did.

Real subprocesses, real signals, a real server. Every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stress.conftest import (
    TruthServer,
    _Server,
    finish,
    make_project,
    start_stress,
    stress_env,
)

pytestmark = pytest.mark.behave_matrix

ENV = """
import os

from qhub.behave import install


def before_all(context):
    install(context)


def after_all(context):
    with open(os.path.join(os.environ["MARKS"], "after_all"), "a") as fh:
        fh.write("x\\n")
"""

STEPS = """
import time

from behave import when

from qhub.steps import *  # noqa: F403


@when("it takes {seconds:f} seconds")
def step_takes(context, seconds):
    time.sleep(seconds)
"""

FEATURES = {
    "load.feature": """
        Feature: Load
          @quick
          Scenario: quick
            When I GET "/fixed"
            Then the response status is 200

          @slow
          Scenario: slow
            When I GET "/fixed"
            And it takes 30.0 seconds
        """
}


@pytest.fixture
def server() -> Iterator[TruthServer]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield TruthServer(srv)
    finally:
        srv.shutdown()
        srv.server_close()


def _wait_for_requests(server: TruthServer, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.count("/fixed") < n:
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_stops_the_load_and_writes_the_report(
    tmp_path: Path, server: TruthServer, sig: signal.Signals, code: int
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    project = make_project(tmp_path / "p", FEATURES, steps=STEPS, environment=ENV)
    env = stress_env(project, server.url, MARKS=str(marks))
    proc = start_stress(
        project, "--users", "3", "--duration", "120", "--", "--tags", "@quick", env=env
    )
    _wait_for_requests(server, 30)
    started = time.monotonic()
    proc.send_signal(sig)
    result = finish(project, proc, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == code, result.output
    report = result.report
    assert report is not None
    assert report["signal"] == sig.name and report["interrupted"] is True
    assert report["abandoned"] is False
    sent = server.count("/fixed")
    assert report["requests"]["count"] == sent  # every request that was made is counted
    assert report["elapsed_s"] < 60
    assert (marks / "after_all").read_text() == "x\n"  # after_all ran, once
    assert f"stopped by {sig.name}" in result.stdout


def test_a_second_signal_abandons_running_scenarios(tmp_path: Path, server: TruthServer) -> None:
    """Users stuck in a 30 s step: the first Ctrl-C waits for them, the second does not."""
    marks = tmp_path / "marks"
    marks.mkdir()
    project = make_project(tmp_path / "p", FEATURES, steps=STEPS, environment=ENV)
    env = stress_env(project, server.url, MARKS=str(marks))
    proc = start_stress(
        project, "--users", "2", "--duration", "120", "--", "--tags", "@slow", env=env
    )
    _wait_for_requests(server, 2)
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # still waiting for the scenarios in progress
    proc.send_signal(signal.SIGINT)
    result = finish(project, proc, timeout=60)
    assert time.monotonic() - started < 20
    assert result.returncode == 130, result.output
    report = json.loads((project / "reports" / "stress.json").read_text())
    assert report["abandoned"] is True
    assert report["requests"]["count"] == 2
