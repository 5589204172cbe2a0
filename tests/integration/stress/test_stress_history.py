"""Stress runs in the run history: recorded as kind ``stress``, compared from the history.

Real ``qhub stress`` subprocesses against the truth server, writing the SQLite history
named by ``QHUB_PROFILING_HISTORY_DB``; the history is read back with qhub's own reader.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from qhub.profiling.history import STRESS
from qhub.profiling.history.sqlite import SQLiteHistory
from tests.integration.stress.conftest import (
    FIXED_AND_HEALTH,
    TruthServer,
    finish,
    make_project,
    run_stress,
    start_stress,
    stress_env,
)

pytestmark = pytest.mark.behave_matrix

FEATURES = FIXED_AND_HEALTH
ARGS = ("--users", "2", "--iterations", "20", "--", "--tags", "@fixed,@health")


def _history(project: Path) -> SQLiteHistory:
    return SQLiteHistory(project / ".qhub" / "history.db", readonly=True)


def test_each_run_is_recorded_with_its_document_and_status(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    project = make_project(tmp_path, FEATURES)
    ok = run_stress(project, "--iterations", "2", base_url=truth_server.url)
    failed = run_stress(
        project, "--iterations", "2", base_url=truth_server.url, QHUB_STRESS_BUDGET_P95_MS="0.001"
    )
    assert (ok.returncode, failed.returncode) == (0, 1), ok.output + failed.output
    assert failed.report is not None and ok.report is not None
    with _history(project) as history:
        runs = history.runs(kind=STRESS)
        assert [r.id for r in runs] == [failed.report["run_id"], ok.report["run_id"]]
        assert [r.status for r in runs] == ["failed", "passed"]
        assert runs[0].wall_ms == pytest.approx(failed.report["elapsed_s"] * 1000.0, abs=0.01)
        assert history.runs() == []  # normal runs' listings never see stress runs
        [stored] = history.documents(failed.report["run_id"])
    assert stored.kind == STRESS
    assert stored.document == failed.report  # the JSON report, as recorded


def test_the_previous_run_comes_from_the_history_not_the_report_folder(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    """The report file of the first run is deleted and a decoy put in its place: the
    second run still compares with the first, read from the history."""
    project = make_project(tmp_path, FEATURES)
    first = run_stress(project, *ARGS, base_url=truth_server.url)
    assert first.returncode == 0, first.output
    assert first.report is not None
    decoy = dict(first.report, run_id="decoy-run", histograms={})
    (project / "reports" / "stress.json").write_text(json.dumps(decoy))
    truth_server.server.fixed_s = 0.060
    second = run_stress(project, "--fail-on-regression", *ARGS, base_url=truth_server.url)
    assert second.returncode == 1, second.output
    assert f"vs previous stress run {first.report['run_id']}" in second.stdout
    assert second.report is not None
    slower = {c["endpoint"] for c in second.report["comparison"]["regressions"]}
    assert "GET /fixed" in slower and "GET /health" not in slower


def test_an_interrupted_run_is_recorded_as_interrupted(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    project = make_project(tmp_path, FEATURES)
    env = stress_env(project, truth_server.url)
    proc = start_stress(project, "--duration", "60", "--", "--tags", "@fixed", env=env)
    deadline = time.monotonic() + 60
    while truth_server.count("/fixed") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    result = finish(project, proc)
    assert result.returncode == 128 + signal.SIGTERM, result.output
    assert result.report is not None and result.report["interrupted"] is True
    with _history(project) as history:
        [run] = history.runs(kind=STRESS)
    assert (run.id, run.status) == (result.report["run_id"], "interrupted")


def test_an_unusable_history_is_one_warning_and_changes_nothing_else(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    project = make_project(tmp_path, FEATURES)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the history's folder should be")
    result = run_stress(
        project,
        "--iterations",
        "2",
        base_url=truth_server.url,
        QHUB_PROFILING_HISTORY_DB=str(blocker / "history.db"),
    )
    assert result.returncode == 0, result.output
    assert result.report is not None  # the report is still written
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.stderr
    assert "not recorded (the reports are still written)" in warnings[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "hostile",
    [
        {"kind": "stress", "schema": 1, "run_id": "h", "plan": [1, 2], "histograms": {}},
        {"kind": "stress", "schema": 1, "run_id": "h", "plan": {}, "histograms": {"all": 7}},
        {"kind": "stress", "schema": 99, "run_id": "h", "plan": {}, "histograms": {}},
        {"kind": "behave"},
    ],
)
def test_a_hostile_previous_run_is_a_miss_said_once(
    tmp_path: Path, truth_server: TruthServer, hostile: dict[str, object]
) -> None:
    project = make_project(tmp_path, FEATURES)
    (project / ".qhub").mkdir()
    with SQLiteHistory(project / ".qhub" / "history.db") as history:
        history.add_document(hostile, run_id="hostile", part="hostile", kind=STRESS)
    result = run_stress(project, "--fail-on-regression", *ARGS, base_url=truth_server.url)
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "stress run hostile" in warnings[0], result.stderr
    assert "is not usable" in warnings[0]
    assert result.report is not None and result.report["comparison"] is None
    with _history(project) as history:
        assert [r.id for r in history.runs(kind=STRESS)] == [result.report["run_id"], "hostile"]
