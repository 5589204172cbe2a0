"""Real behave and behavex runs in subprocesses: install(), the Runner, attribution, counts,
the CI gate, parallel workers, and behavex grouping with no variable set."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest


def parts(report: dict[str, Any]) -> dict[str, float]:
    return {p["name"]: p["ms"] for p in report["attribution"]["parts"]}


def qhub(project: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "qhub", *args], cwd=project, capture_output=True, text=True,
        env={**base, **(env or {})}, check=False, timeout=120,
    )  # fmt: skip


def behave_totals(output: str) -> dict[str, dict[str, int]]:
    """behave's own summary lines: ``3 scenarios passed, 0 failed, 1 skipped`` ..."""
    found: dict[str, dict[str, int]] = {}
    for kind in ("feature", "scenario", "step"):
        line = re.search(rf"^\d+ {kind}s? passed.*$", output, re.M)
        assert line is not None, output
        found[kind] = {
            status: int(n) for n, status in re.findall(r"(\d+) (?:\w+s? )?(\w+)", line.group())
        }
    return found


class TestInstall:
    """`install(context)` in environment.py."""

    def test_end_to_end(self, make_project: Any, behave_run: Any, report_of: Any) -> None:
        project = make_project()
        result = behave_run(project)
        assert result.returncode == 0, result.output
        lines = result.stdout.splitlines()  # where the summary goes is the integration's
        first = next(i for i, line in enumerate(lines) if line.startswith("qhub: run "))
        last = next(i for i, line in enumerate(lines) if line.startswith("qhub: HTML report: "))
        assert 5 <= last - first + 1 <= 15, lines[first : last + 1]
        assert lines[last] == f"qhub: HTML report: {project / 'reports/qhub-report.html'}"
        report = report_of(project)
        rows = {r["pattern"]: r for r in report["step_definitions"]}
        assert set(rows) == {"a number {n:d}", "I wait {ms:d} ms", "it is fine"}
        wait = rows["I wait {ms:d} ms"]
        assert wait["key"] == "features/steps/steps.py::when::I wait {ms:d} ms"
        assert wait["location"] == "features/steps/steps.py:15"  # the @when line
        assert wait["count"] == 3
        assert wait["min_ms"] >= 5.0
        assert wait["texts"][0]["text"] == "When I wait 15 ms"
        assert report["totals"]["steps"] == 9
        assert report["totals"]["scenarios"] == 3
        assert report["totals"]["source"] == "behave model"
        assert {m["method"]: m["count"] for m in report["methods"]} == {"waiting block": 3}
        assert report["run"]["mode"] == "install"
        assert report["memory"]["enabled"] is True
        assert report["memory"]["peak_mb"] > 5
        assert (project / "reports/qhub-report.html").exists()
        assert (project / ".qhub/history.db").exists()

    def test_runner_measures_phases(
        self, make_project: Any, behave_run: Any, report_of: Any
    ) -> None:
        project = make_project(env="plain")
        result = behave_run(project, "--runner=qhub.behave:Runner")
        assert result.returncode == 0, result.output
        report = report_of(project)
        assert report["run"]["mode"] == "runner"
        names = parts(report)
        assert {"load_hooks", "parse_features", "step_modules", "before_all"} <= set(names)
        assert report["totals"]["steps"] == 9


COUNTS_STEPS = """
from behave import given, when, then


@given("a number {n:d}")
def number(context, n):
    context.n = n


@when("I do both")
def both(context):
    context.execute_steps("Given a number 7\\nThen it is fine")


@then("it is fine")
def fine(context):
    assert context.n >= 0


@then("it breaks")
def breaks(context):
    assert context.n < 0, f"expected a negative number, got {context.n}"
"""

COUNTS_FEATURE = """
Feature: counts
  Scenario: plain
    Given a number 1
    Then it is fine

  @slow
  Scenario: skipped by tag
    Given a number 2
    Then it is fine

  Scenario: nested
    Given a number 3
    When I do both

  Scenario: broken
    Given a number 4
    Then it breaks
    Then it is fine

  Scenario Outline: rows
    Given a number <n>
    Then it is fine
    Examples:
      | n |
      | 5 |
      | 6 |
"""

SKIPPED_FEATURE = """
@slow
Feature: all skipped
  Scenario: never
    Given a number 9
    Then it is fine
"""


@pytest.mark.behave_matrix
class TestCounts:
    """qhub's totals equal behave's own: skipped counted as skipped, sub-steps apart."""

    def test_totals_match_behave(self, make_project: Any, behave_run: Any, report_of: Any) -> None:
        project = make_project(
            features={"counts.feature": COUNTS_FEATURE}, config={"report": {"formats": ["json"]}}
        )
        (project / "features/steps/steps.py").write_text(textwrap.dedent(COUNTS_STEPS))
        result = behave_run(project, "--tags=~@slow")  # the syntax behave 1.2.6 and 1.3 share
        assert result.returncode == 1, result.output  # "broken" fails
        theirs = behave_totals(result.stdout)
        totals = report_of(project)["totals"]
        for kind, key in (("feature", "features"), ("scenario", "scenarios"), ("step", "steps")):
            ours = {k: v for k, v in totals[f"{key}_by_status"].items() if v}
            assert ours == {k: v for k, v in theirs[kind].items() if v}, (kind, result.stdout)
        assert totals["sub_steps"] == 2  # the two steps run by execute_steps
        report = report_of(project)
        broken = next(s for s in report["scenarios"] if s["name"] == "broken")
        assert broken["error"] == "AssertionError: expected a negative number, got 4"
        assert broken["failed_step"].startswith("Then it breaks (features/counts.feature:")
        nested = {r["pattern"]: r for r in report["step_definitions"]}
        assert nested["a number {n:d}"]["nested_calls"] == 1
        # one expression string (behave 1.2.6 normalises it to "-slow"), never a list's repr
        assert report["run"]["tags"] in (["~@slow"], ["-slow"])
        keys = sorted(s["key"] for s in report["scenarios"] if "rows" in s["key"])
        assert keys == ["features/counts.feature::rows::5", "features/counts.feature::rows::6"]

    def test_fully_skipped_feature_counts(
        self, make_project: Any, behave_run: Any, report_of: Any
    ) -> None:
        project = make_project(
            features={"counts.feature": COUNTS_FEATURE, "skipped.feature": SKIPPED_FEATURE},
            config={"report": {"formats": ["json"]}},
        )
        (project / "features/steps/steps.py").write_text(textwrap.dedent(COUNTS_STEPS))
        result = behave_run(project, "--tags=~@slow")
        theirs = behave_totals(result.stdout)
        totals = report_of(project)["totals"]
        assert totals["features_by_status"] == {k: v for k, v in theirs["feature"].items() if v}
        assert totals["scenarios"] == sum(theirs["scenario"].values())


class TestStdoutHygiene:
    """What qhub prints itself never lands in a machine-readable stdout."""

    def test_json_to_stdout_parses_with_warnings(self, make_project: Any, behave_run: Any) -> None:
        project = make_project(
            config={
                "report": {"summary": False, "formats": ["json"]},
                "profiling": {"history_db": "blocker/history.db"},
            }
        )
        (project / "blocker").write_text("a file where a folder should be")
        result = behave_run(project, "-f", "json", "-o", "-", "--no-summary")
        assert result.returncode == 0, result.output
        # behave 1.3 itself prints "USING RUNNER: ..." first, with or without qhub
        own = [ln for ln in result.stdout.splitlines() if not ln.startswith("USING RUNNER:")]
        json.loads("\n".join(own))
        assert "qhub: warning:" in result.stderr  # the history problem is said, on stderr
        assert (project / "reports/qhub-report.json").exists()


class TestAttribution:
    """The parts add up to the wall time measured from outside, and land where they belong."""

    def test_slow_parts_in_the_right_buckets(
        self, make_project: Any, behave_run: Any, report_of: Any
    ) -> None:
        # interpreter shutdown after the report cannot be seen from inside; keep it short by
        # not loading Faker and the cache backends, which take ~0.3 s to tear down
        project = make_project(
            config={
                "report": {"formats": ["json"]},
                "data": {"enabled": False},
                "cache": {"enabled": False},
            }
        )
        env = {"SLOW_BEFORE_ALL_S": "1.2", "SLOW_AFTER_STEP_S": "0.15", "SLOW_IMPORT_S": "1.0"}
        result = behave_run(project, env=env)
        assert result.returncode == 0, result.output
        report = report_of(project)
        p = parts(report)
        assert 1200 <= p["before_all"] < 1200 + 250
        assert 1000 <= p["step_modules"] < 1000 + 250
        assert 1350 <= p["hook:after_step"] < 1350 + 250  # 9 steps x 150 ms
        assert 30 <= p["step_bodies"] < 30 + 250  # 5 + 10 + 15 ms of waiting
        # qhub's end-of-run code loads when the run ends, measured inside the run
        assert p["qhub_report_code"] > 0
        att = report["attribution"]
        assert att["parts_total_ms"] == pytest.approx(att["wall_ms"], abs=0.01)
        outside_ms = result.wall_s * 1000
        assert abs(att["wall_ms"] - outside_ms) <= 0.05 * outside_ms, (att, outside_ms)
        # qhub's own set-up inside before_all is not the user's hook
        hooks = {h["hook"]: h for h in report["hooks"]}
        assert hooks["before_all"]["total_ms"] == pytest.approx(p["before_all"], abs=0.01)


ONCE_STEPS = """
import os, time
from behave import given, then


@given("the service is warmed up")
def warm(context):
    time.sleep(float(os.environ.get("WARM_MS", "20")) / 1000)


@then("item {n:d} is fine")
def fine(context, n):
    time.sleep(0.001)
"""


def _once_feature() -> str:
    lines = ["Feature: gate", "  Scenario: warm", "    Given the service is warmed up"]
    for i in range(3):
        lines += [f"  Scenario: item {i}", f"    Then item {i} is fine"]
    return "\n".join(lines) + "\n"


class TestCheckGate:
    """History, baseline and `qhub check` over real runs."""

    def test_once_per_run_step_slowdown_is_caught(self, make_project: Any, behave_run: Any) -> None:
        """A once-per-run step twice as slow: caught with a 3-run baseline and one current
        run, and still caught after a comment line shifts the step file."""
        # the 1 ms steps can take several ms more on a loaded machine: a 4 ms noise floor
        # (minimum spread 2 ms, prediction bound ~16 ms above a 3-run median) keeps them out
        # of the verdict, while the 40 ms slowdown stays above it
        project = make_project(
            features={"a.feature": _once_feature()},
            config={"report": {"formats": ["json"]}, "profiling": {"noise_floor_ms": 4}},
        )
        steps = project / "features/steps/steps.py"
        steps.write_text(textwrap.dedent(ONCE_STEPS))
        for _ in range(3):
            assert behave_run(project, env={"WARM_MS": "20"}).returncode == 0
        assert qhub(project, "baseline", "set", "--last", "3").returncode == 0
        assert behave_run(project, env={"WARM_MS": "20"}).returncode == 0
        same = qhub(project, "check")
        assert same.returncode == 0, same.stdout + same.stderr
        assert "0 regressions of " in same.stdout
        steps.write_text("# a comment that shifts every line\n" + textwrap.dedent(ONCE_STEPS))
        assert behave_run(project, env={"WARM_MS": "60"}).returncode == 0
        check = qhub(project, "check")
        assert check.returncode == 1, check.stdout + check.stderr
        # the step definition and the scenario that runs it: both 3x slower
        assert "2 regressions of 6 compared" in check.stdout
        assert "step: the service is warmed up [features/steps/steps.py:7]" in check.stdout
        assert "scenario: warm" in check.stdout
        assert "(run-distribution)" in check.stdout
        md = qhub(project, "report", "--format", "markdown")
        assert "2 regressions of 6 compared" in md.stdout.splitlines()[0]


class TestParallelWorkers:
    """Workers sharing QHUB_RUN_ID are one run: one history row, one report."""

    def test_two_workers_one_run(
        self, make_project: Any, report_of: Any, feature_text: Any
    ) -> None:
        project = make_project(
            features={"a.feature": "", "b.feature": ""}, config={"report": {"formats": ["json"]}}
        )
        (project / "features/a.feature").write_text(feature_text("A", [5, 5]))
        (project / "features/b.feature").write_text(feature_text("B", [5, 5, 5]))
        base = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "behave", "--no-color", f"features/{name}"],
                cwd=project,
                env={**base, "QHUB_RUN_ID": "group-1", "QHUB_WORKER_ID": str(i)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for i, name in enumerate(("a.feature", "b.feature"))
        ]
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out
        report = report_of(project)  # written by whichever worker finished last
        assert report["run"]["id"] == "group-1"
        assert report["run"]["workers"] == 2
        assert sorted(report["run"]["worker_ids"]) == ["0", "1"]
        assert report["totals"]["scenarios"] == 5
        assert report["totals"]["steps"] == 15
        with sqlite3.connect(project / ".qhub/history.db") as db:
            assert db.execute("SELECT id, parts FROM runs").fetchall() == [("group-1", 2)]


class TestBehavex:
    """behavex with no variable set: one run, one summary, one report, one history row."""

    @pytest.mark.parametrize("scheme", ["feature", "scenario"])
    def test_out_of_the_box(
        self, make_project: Any, report_of: Any, feature_text: Any, scheme: str
    ) -> None:
        behavex = Path(sys.executable).parent / "behavex"
        if not behavex.exists():
            pytest.fail("behavex is not installed in the test environment")
        project = make_project(
            features={"a.feature": feature_text("A", [5, 5]), "b.feature": feature_text("B", [5])},
            config={"report": {"formats": ["json"]}},
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}
        # behavex points TEMP at its output folder; multiprocessing's socket path must stay
        # short, and behavex writes fixed names (stdMainProcess2.txt) into the temp folder,
        # which another user's earlier run may own: a short folder of this test's own
        env["TMPDIR"] = tempfile.mkdtemp(prefix="bx-", dir="/tmp")
        try:
            proc = subprocess.run(
                [str(behavex), "--parallel-processes", "2", "--parallel-scheme", scheme],
                cwd=project, env=env, capture_output=True, text=True, timeout=240, check=False,
            )  # fmt: skip
        finally:
            shutil.rmtree(env["TMPDIR"], ignore_errors=True)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output
        assert output.count("qhub: run ") == 1, output  # one summary for the whole run
        assert "qhub: run " not in proc.stdout  # on stderr, never in behavex's stdout
        report = report_of(project)
        assert report["run"]["id"].startswith("behavex-")
        assert report["run"]["group_source"] == "behavex"
        assert report["totals"]["scenarios"] == 3
        assert report["totals"]["steps"] == 9
        assert report["totals"]["scenarios_by_status"] == {"passed": 3}
        expected_parts = 2 if scheme == "feature" else 3
        with sqlite3.connect(project / ".qhub/history.db") as db:
            rows = db.execute("SELECT id, parts FROM runs").fetchall()
        assert rows == [(report["run"]["id"], expected_parts)]
        assert 1 <= report["run"]["workers"] <= 2
