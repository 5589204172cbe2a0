"""``qhub check --stress`` over stress runs recorded by real ``qhub stress`` processes.

One project, one history, three recorded runs (made once for the module): a run with
another load, then a baseline run, then the same load against a slower ``/fixed``. Every
check is a real ``qhub check`` subprocess, read-only on that history.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qhub.profiling.history import BEHAVE, STRESS
from qhub.profiling.history.sqlite import SQLiteHistory
from tests.integration.stress.conftest import (
    FIXED_AND_HEALTH,
    _Server,
    make_project,
    run_stress,
    stress_env,
)

pytestmark = pytest.mark.behave_matrix

FEATURES = FIXED_AND_HEALTH
LOAD = ("--iterations", "20", "--", "--tags", "@fixed,@health")


@dataclass
class Recorded:
    project: Path
    other_load: str
    baseline: str
    slower: str


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        project = make_project(tmp_path_factory.mktemp("check"), FEATURES)
        ids = []
        for users, fixed_s in (("3", 0.020), ("2", 0.020), ("2", 0.060)):
            server.fixed_s = fixed_s
            result = run_stress(project, "--users", users, *LOAD, base_url=url)
            assert result.returncode == 0, result.output
            assert result.report is not None
            ids.append(result.report["run_id"])
        yield Recorded(project, *ids)
    finally:
        server.shutdown()
        server.server_close()


def check(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = stress_env(project, None)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        full.pop(name, None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "qhub", "check", "--stress", *args],
        cwd=project,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("qhub: error:")]


def test_the_newest_against_the_previous_fails_on_a_slower_endpoint(recorded: Recorded) -> None:
    result = check(recorded.project)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"qhub check --stress: stress run {recorded.slower}"
    assert lines[1].startswith(f"  vs previous stress run {recorded.baseline}: ")
    assert any(line.startswith("    SLOWER GET /fixed: p") for line in lines), result.stdout
    assert not any("GET /health" in line and "SLOWER" in line for line in lines)
    [error] = errors(result)
    assert "endpoint(s) slower than stress run" in error and recorded.baseline in error
    assert "Traceback" not in result.stderr


def test_the_threshold_is_the_settings_and_the_options(recorded: Recorded) -> None:
    assert check(recorded.project, "--threshold", "100000").returncode == 0
    assert check(recorded.project, "--threshold-ms", "1000000").returncode == 0
    relaxed = check(recorded.project, QHUB_PROFILING_REGRESSION_THRESHOLD_PERCENT="100000")
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "0 slower" in relaxed.stdout


def test_any_two_runs_by_id(recorded: Recorded) -> None:
    """The baseline run checked against the slower one: /fixed got faster, exit 0 (a
    10 ms noise floor keeps the loopback's jitter on /health out of the verdict)."""
    result = check(
        recorded.project,
        "--run",
        recorded.baseline,
        "--baseline-run",
        recorded.slower,
        "--threshold-ms",
        "10",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"vs stress run {recorded.slower}: 0 slower, " in result.stdout
    assert "FASTER GET /fixed: p" in result.stdout


def test_a_different_load_is_nothing_to_compare(recorded: Recorded) -> None:
    result = check(recorded.project, "--run", recorded.baseline)
    assert result.returncode == 2
    assert "not comparable: the load differs (users 3 -> 2)" in result.stdout
    [error] = errors(result)
    assert "nothing to compare" in error and recorded.other_load in error


def test_json_github_and_markdown(recorded: Recorded) -> None:
    as_json = check(recorded.project, "--format", "json")
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert (data["run"], data["baseline_run"]) == (recorded.slower, recorded.baseline)
    assert "GET /fixed" in {c["endpoint"] for c in data["regressions"]}

    github = check(recorded.project, "--format", "github")
    assert github.returncode == 1
    annotations = [line for line in github.stdout.splitlines() if line.startswith("::")]
    assert any(a.startswith("::error title=qhub%3A slower::GET /fixed: p") for a in annotations)
    assert annotations[-1].startswith("::notice title=qhub%3A stress verdict::vs previous")

    markdown = check(recorded.project, "--format", "markdown")
    assert markdown.returncode == 1
    assert markdown.stdout.startswith(f"### qhub stress check: {recorded.slower} vs ")
    assert "| slower | GET /fixed | p" in markdown.stdout


def test_the_step_summary_gets_the_markdown(recorded: Recorded, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = check(recorded.project, GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 1
    assert "| slower | GET /fixed | p" in summary.read_text()


def test_nothing_recorded_or_one_run_exits_2(tmp_path: Path) -> None:
    empty = check(tmp_path)
    assert empty.returncode == 2
    assert len(errors(empty)) == 1 and empty.stdout == ""
    assert not (tmp_path / ".qhub").exists()  # read-only: nothing created
    (tmp_path / ".qhub").mkdir()
    with SQLiteHistory(tmp_path / ".qhub" / "history.db") as history:
        history.add_document({"kind": "behave"}, run_id="b", part="b", kind=BEHAVE)
    none = check(tmp_path)
    assert none.returncode == 2 and "no stress run recorded" in errors(none)[0]
    not_stress = check(tmp_path, "--run", "b", "--baseline-run", "b")
    assert not_stress.returncode == 2 and "not a stress run" in errors(not_stress)[0]


def test_only_one_run_and_a_hostile_baseline(recorded: Recorded, tmp_path: Path) -> None:
    project = tmp_path
    (project / ".qhub").mkdir()
    with SQLiteHistory(recorded.project / ".qhub" / "history.db", readonly=True) as source:
        [stored] = source.documents(recorded.slower)
    with SQLiteHistory(project / ".qhub" / "history.db") as history:
        history.add_document(stored.document, run_id="only", part="only", kind=STRESS)
    one = check(project)
    assert one.returncode == 2
    assert "no stress run before only" in errors(one)[0]
    with SQLiteHistory(project / ".qhub" / "history.db") as history:
        hostile = dict(stored.document, plan="<script>", histograms=[1])
        history.add_document(hostile, run_id="hostile", part="hostile", kind=STRESS)
    bad = check(project, "--run", "only", "--baseline-run", "hostile")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr
    warning = [line for line in bad.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "not usable (no plan)" in warning[0]
    assert "stress run hostile cannot be read" in errors(bad)[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--junit-xml", "x.xml"), "--junit-xml cannot be used with --stress"),
        (("--last", "2"), "--last cannot be used with --stress"),
        (("--fail-on", "p95:10%"), "--fail-on cannot be used with --stress"),
    ],
)
def test_options_of_the_normal_gate_are_refused(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = check(tmp_path, *args)
    assert result.returncode == 2
    assert message in errors(result)[0]


def test_baseline_run_needs_stress(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "qhub", "check", "--baseline-run", "x"],
        cwd=tmp_path,
        env=stress_env(tmp_path, None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--baseline-run needs --stress" in result.stderr
