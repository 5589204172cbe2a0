"""``qhub stress`` end to end: real behave, real subprocesses, a real HTTP server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.integration.stress.conftest import (
    FIXED_AND_HEALTH,
    TruthServer,
    endpoint,
    make_project,
    run_stress,
)

pytestmark = pytest.mark.behave_matrix


def test_users_bound_the_servers_concurrency(tmp_path: Path, truth_server: TruthServer) -> None:
    """3 users: the server never sees more than 3 connections or requests at once, and it
    does see them overlap."""
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    result = run_stress(
        project,
        "--users",
        "3",
        "--duration",
        "1.5",
        "--",
        "--tags",
        "@fixed",
        base_url=truth_server.url,
    )
    assert result.returncode == 0, result.output
    assert truth_server.max_connections <= 3
    assert 2 <= truth_server.max_in_flight <= 3
    assert result.report is not None
    assert result.report["client"]["users"] == 3


def test_iterations_per_user_are_exact(tmp_path: Path, truth_server: TruthServer) -> None:
    """--users 3 --iterations 5: each user runs every selected scenario 5 times."""
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    result = run_stress(project, "--users", "3", "--iterations", "5", base_url=truth_server.url)
    assert result.returncode == 0, result.output
    assert truth_server.count("/fixed") == 15
    assert truth_server.count("/health") == 15  # warm-up uses HEAD / only
    report = result.report
    assert report is not None
    assert report["iterations"]["completed"] == 15
    assert report["stop_reason"] == "iterations"
    assert endpoint(report, "GET /fixed")["count"] == 15
    scenarios = {row["label"]: row for row in report["scenarios"]}
    assert scenarios["fixed"]["outcomes"] == {"passed": 15}
    steps = {row["label"]: row["count"] for row in report["steps"]}
    assert steps['When I GET "{path}"'] == 30
    assert "qhub stress: report:" in result.stderr
    html = (project / "reports" / "stress.html").read_text()
    assert "Latency over time" in html and "GET /fixed" in html and "<polyline" in html


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {"STRESS_MULTIPLIER": "2"}, (4, 3)),
        ((), {"QHUB_STRESS_MULTIPLIER": "2", "STRESS_MULTIPLIER": "5"}, (4, 3)),
        (("--multiplier", "3", "--scale", "iterations"), {"STRESS_MULTIPLIER": "5"}, (2, 9)),
    ],
)
def test_the_multiplier_scales_users_or_iterations(
    tmp_path: Path,
    truth_server: TruthServer,
    args: tuple[str, ...],
    env: dict[str, str],
    expected: tuple[int, int],
) -> None:
    """STRESS_MULTIPLIER (QHUB_ twin wins) scales users; --multiplier wins over both."""
    users, per_user = expected
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    result = run_stress(
        project,
        "--users",
        "2",
        "--iterations",
        "3",
        *args,
        "--",
        "--tags",
        "@health",
        base_url=truth_server.url,
        **env,
    )
    assert result.returncode == 0, result.output
    assert truth_server.count("/health") == users * per_user
    assert result.report is not None
    assert result.report["plan"]["users"] == users


def test_a_violated_budget_exits_1(tmp_path: Path, truth_server: TruthServer) -> None:
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    result = run_stress(
        project,
        "--iterations",
        "3",
        "--progress",
        "--",
        "--tags",
        "@fixed",
        base_url=truth_server.url,
        QHUB_STRESS_BUDGET_P95_MS="1",
        QHUB_STRESS_BUDGET_ERROR_RATE_PERCENT="0",
    )
    assert result.returncode == 1, result.output
    assert "FAIL p95 of all requests" in result.stdout
    assert "ok   failed requests: 0 % <= 0 %" in result.stdout
    assert "1 budget(s) violated" in result.stderr
    assert result.report is not None
    assert [b["passed"] for b in result.report["budgets"]] == [False, True]
    progress = [part for part in result.stderr.split("\r") if "users" in part and "p95" in part]
    assert progress, result.stderr  # --progress forces the live line without a terminal
    assert "3 requests" in progress[-1] and "done" in progress[-1]


def test_met_budgets_exit_0_and_an_unmeasured_endpoint_fails(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    ok = run_stress(
        project,
        "--iterations",
        "2",
        "--",
        "--tags",
        "@fixed",
        base_url=truth_server.url,
        QHUB_STRESS_BUDGET_P99_MS="5000",
        QHUB_STRESS_BUDGET_MIN_RPS="0.1",
        QHUB_STRESS_BUDGET_ENDPOINTS_MS='{"p95 GET /fixed": 5000}',
    )
    assert ok.returncode == 0, ok.output
    never = run_stress(
        project,
        "--iterations",
        "2",
        "--",
        "--tags",
        "@fixed",
        base_url=truth_server.url,
        QHUB_STRESS_BUDGET_ENDPOINTS_MS='{"p95 /nowhere": 5000}',
    )
    assert never.returncode == 1, never.output
    assert "no request was measured" in never.stdout


ISOLATION_ENV = """
import os
import threading

from qhub.behave import install


def _log(line):
    with open(os.path.join(os.environ["MARKS"], "hooks.log"), "a") as fh:
        fh.write(line + "\\n")


def before_all(context):
    install(context)
    context.shared = object()
    _log("before_all")


def before_scenario(context, scenario):
    context.owner = threading.get_ident()
    _log(f"before_scenario {threading.get_ident()}")


def after_scenario(context, scenario):
    assert context.owner == threading.get_ident(), "another user's scenario layer"
    _log(f"after_scenario {threading.get_ident()}")


def after_all(context):
    _log("after_all")
"""

ISOLATION_STEPS = """
import os
import threading
import time

from behave import given, then, when


@given("I write down who I am")
def step_who(context):
    assert "mine" not in context, "a value from another scenario leaked in"
    context.mine = (threading.get_ident(), id(context))
    with open(os.path.join(os.environ["MARKS"], "contexts.log"), "a") as fh:
        fh.write(f"{threading.get_ident()} {id(context)} {id(context.shared)}\\n")


@when("the other users get a chance to run")
def step_wait(context):
    time.sleep(0.005)
    assert context.api.get("/health").status_code == 200


@then("I am still who I was")
def step_same(context):
    assert context.mine == (threading.get_ident(), id(context))
"""

ISOLATION_FEATURE = {
    "isolation.feature": """
        Feature: Each user has its own context
          Scenario: one
            Given I write down who I am
            When the other users get a chance to run
            Then I am still who I was

          Scenario: two
            Given I write down who I am
            When the other users get a chance to run
            Then I am still who I was
        """
}


def test_each_user_has_its_own_context_and_before_all_runs_once(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    project = make_project(
        tmp_path / "p", ISOLATION_FEATURE, steps=ISOLATION_STEPS, environment=ISOLATION_ENV
    )
    result = run_stress(
        project,
        "--users",
        "4",
        "--iterations",
        "6",
        base_url=truth_server.url,
        MARKS=str(marks),
    )
    assert result.returncode == 0, result.output
    report = result.report
    assert report is not None
    assert report["requests"]["count"] == 4 * 6 * 2
    assert all(row["outcomes"] == {"passed": 24} for row in report["scenarios"])
    hooks = (marks / "hooks.log").read_text().splitlines()
    assert hooks.count("before_all") == 1
    assert hooks.count("after_all") == 1
    assert hooks[0] == "before_all" and hooks[-1] == "after_all"
    assert sum(h.startswith("before_scenario") for h in hooks) == 48
    rows = [line.split() for line in (marks / "contexts.log").read_text().splitlines()]
    threads = {r[0] for r in rows}
    contexts = {r[1] for r in rows}
    assert len(threads) == len(contexts) == 4  # one context per user, kept across iterations
    assert len({r[2] for r in rows}) == 1  # before_all's objects are shared, as in behave


def test_requests_to_other_hosts_are_refused(tmp_path: Path, truth_server: TruthServer) -> None:
    """A step calling a host that is not configured gets an error; that host sees nothing."""
    other = TruthServer.__new__(TruthServer)
    from tests.integration.stress.conftest import _Server

    other.server = _Server()
    thread = threading.Thread(target=other.server.serve_forever, daemon=True)
    thread.start()
    try:
        features = {
            "elsewhere.feature": f"""
                Feature: Elsewhere
                  Scenario: a hard-coded URL
                    When I GET "{other.url}/health"
                    Then the response status is 200
                """
        }
        project = make_project(tmp_path, features)
        result = run_stress(project, "--iterations", "2", base_url=truth_server.url)
    finally:
        other.server.shutdown()
        other.server.server_close()
    assert result.returncode == 0, result.output
    assert other.count() == 0
    assert result.report is not None
    row = result.report["endpoints"][0]
    assert row["errors_by_kind"] == {"refused host": 2}
    assert "not a configured API host" in row["first_errors"]["refused host"]
    outcomes = result.report["scenarios"][0]["outcomes"]
    assert outcomes in ({"error": 2}, {"failed": 2})  # behave 1.3 says error, 1.2.6 failed
    assert result.stderr.count("refused a request to 127.0.0.1") == 1  # said once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--", "--tags", "@nothing"), "no scenario selected"),
        (("--", "--no-such-option"), "behave arguments:"),
    ],
)
def test_a_run_that_cannot_start_says_why_in_one_line(
    tmp_path: Path, truth_server: TruthServer, args: tuple[str, ...], message: str
) -> None:
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    result = run_stress(project, "--iterations", "1", *args, base_url=truth_server.url)
    assert result.returncode == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("qhub: error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert truth_server.count() == 0


def test_undefined_steps_and_no_api_refuse_to_start(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    features = {"u.feature": "Feature: U\n  Scenario: s\n    Given nobody defined this step\n"}
    project = make_project(tmp_path / "u", features)
    result = run_stress(project, "--iterations", "1", base_url=truth_server.url)
    assert result.returncode == 2
    assert "undefined steps" in result.stderr and "nobody defined this step" in result.stderr
    project = make_project(tmp_path / "n", FIXED_AND_HEALTH)
    result = run_stress(project, "--iterations", "1", base_url=None)
    assert result.returncode == 2
    assert "no API host configured" in result.stderr


def test_a_slower_endpoint_than_in_the_previous_run_is_named(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    """The second run of the same load against a slower /fixed: SLOWER, exit 1 with
    --fail-on-regression; a different load is not compared at all."""
    project = make_project(tmp_path, FIXED_AND_HEALTH)
    args = (
        "--users",
        "2",
        "--iterations",
        "20",
        "--fail-on-regression",
        "--",
        "--tags",
        "@fixed,@health",
    )
    first = run_stress(project, *args, base_url=truth_server.url)
    assert first.returncode == 0, first.output
    assert "vs previous stress run" not in first.stdout
    truth_server.server.fixed_s = 0.060
    second = run_stress(project, *args, base_url=truth_server.url)
    assert second.returncode == 1, second.output
    # The line names the statistic that moved most (p50 or p95, whichever the
    # machine's jitter leaves larger), so only the endpoint and direction are fixed.
    assert "SLOWER GET /fixed: p" in second.stdout, second.stdout
    assert second.report is not None
    slower = {c["endpoint"] for c in second.report["comparison"]["regressions"]}
    assert "GET /fixed" in slower and "GET /health" not in slower
    third = run_stress(
        project,
        "--users",
        "3",
        "--iterations",
        "20",
        "--fail-on-regression",
        "--",
        "--tags",
        "@fixed",
        base_url=truth_server.url,
    )
    assert third.returncode == 0, third.output
    assert "not comparable: the load differs (users 2 -> 3)" in third.stdout


def test_a_failing_before_all_stops_before_the_load(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    env = """
from qhub.behave import install


def before_all(context):
    install(context)
    raise RuntimeError("database unreachable")


def after_all(context):
    print("after_all ran")
"""
    project = make_project(tmp_path, FIXED_AND_HEALTH, environment=env)
    result = run_stress(project, "--iterations", "1", base_url=truth_server.url)
    assert result.returncode == 2, result.output
    assert "qhub: error: before_all failed" in result.stderr
    assert "database unreachable" in result.output  # behave's own HOOK-ERROR line
    assert "after_all ran" in result.output  # clean-up still runs, as in behave
    assert truth_server.count("/fixed") == 0
