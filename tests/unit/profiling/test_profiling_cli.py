"""`qhub check`, `qhub report`, `qhub baseline` in-process, and once as a console script."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from qhub.cli import main

QUERY_KEY = "steps/x.py::given::query"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith(("QHUB_", "GITHUB_"))]:
        monkeypatch.delenv(key)
    (tmp_path / "qhub.json").write_text(json.dumps({"report": {"summary": False}}))
    return tmp_path


def _run(make_observer: Any, fx: Any, center_ms: float, seed: int, fail: bool = False) -> str:
    """A run with 25 calls of one step definition around ``center_ms``; returns its id."""
    rng = random.Random(seed)
    d = make_observer()
    d.start()
    step = fx.definition("query", 4)
    for i in range(25):
        d.step(fx.FakeStep(f"query {i}", match=step), center_ms * (1 + rng.uniform(-0.05, 0.05)))
    if fail:
        d.obs.mark_interrupted("sigterm")
    d.finish()
    return str(d.record.run.id)


class TestCheck:
    """The CI gate."""

    def test_no_runs_is_an_error_and_creates_nothing(self, project: Path, capsys: Any) -> None:
        assert main(["check"]) == 2
        assert "no runs recorded yet" in capsys.readouterr().err
        assert sorted(p.name for p in project.iterdir()) == ["qhub.json"]

    def test_regression_exits_1(
        self, project: Path, make_observer: Any, fx: Any, capsys: Any
    ) -> None:
        _run(make_observer, fx, 20, 1)
        assert main(["baseline", "set"]) == 0
        _run(make_observer, fx, 21, 2)
        assert main(["check", "--threshold", "20"]) == 0
        _run(make_observer, fx, 30, 3)
        capsys.readouterr()
        assert main(["check", "--threshold", "20"]) == 1
        captured = capsys.readouterr()
        assert "1 regression of 1 compared" in captured.out
        assert (
            "SLOWER +" in captured.out
            and "step: query [steps/x.py:4] (mann-whitney)" in captured.out
        )
        assert captured.err == "qhub: error: qhub check failed: 1 regression(s)\n"
        assert main(["check", "--threshold", "60"]) == 0
        assert main(["check", "--fail-on", "median:60%"]) == 0
        assert main(["check", "--fail-on", "median:5ms"]) == 1
        assert main(["check", "--threshold-ms", "50"]) == 0  # noise floor above the change
        capsys.readouterr()
        assert main(["check", "--format", "json"]) == 1
        analysis = json.loads(capsys.readouterr().out)
        assert analysis["state"] == "regressed"
        assert analysis["counts"]["compared"] == 1
        assert analysis["comparisons"][0]["key"] == QUERY_KEY

    def test_improvement_passes(
        self, project: Path, make_observer: Any, fx: Any, capsys: Any
    ) -> None:
        _run(make_observer, fx, 30, 1)
        main(["baseline", "set"])
        _run(make_observer, fx, 10, 2)
        assert main(["check"]) == 0
        assert "faster -" in capsys.readouterr().out

    def test_no_baseline_is_said_and_can_be_required(
        self, project: Path, make_observer: Any, fx: Any, capsys: Any
    ) -> None:
        _run(make_observer, fx, 10, 1)
        assert main(["check"]) == 0
        assert "no baseline: nothing compared" in capsys.readouterr().out
        assert main(["check", "--require-baseline"]) == 2

    def test_budget_gate(self, project: Path, make_observer: Any, fx: Any) -> None:
        (project / "qhub.json").write_text(json.dumps({"profiling": {"budget_step_p95_ms": 5}}))
        _run(make_observer, fx, 10, 1)
        assert main(["check"]) == 0
        assert main(["check", "--fail-on-budget"]) == 1

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--threshold-ms", "-5"], "argument --threshold-ms: must be a number >= 0 and <= "),
            (["--last", "0"], "argument --last: must be a whole number >= 1"),
            (["--threshold", "-1"], "argument --threshold: must be a number >= 0"),
            (["--threshold", "nan"], "argument --threshold: must be a number"),
            (["--fail-on", "avg:3x"], "argument --fail-on: bad threshold 'avg:3x'"),
        ],
    )
    def test_numbers_range_checked(
        self, project: Path, capsys: Any, args: list[str], message: str
    ) -> None:
        assert main(["check", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert message in err

    def test_ci_outputs(
        self,
        project: Path,
        make_observer: Any,
        fx: Any,
        capsys: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        _run(make_observer, fx, 20, 1)
        main(["baseline", "set"])
        _run(make_observer, fx, 40, 2)
        summary = project / "step-summary.md"
        summary.write_text("earlier step\n")
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        capsys.readouterr()
        assert main(["check", "--junit-xml", "out/junit.xml"]) == 2  # folder missing: usage
        assert main(["check", "--junit-xml", "junit.xml"]) == 1
        out = capsys.readouterr().out
        errors = [line for line in out.splitlines() if line.startswith("::error ")]
        assert len(errors) == 1
        assert errors[0].startswith(
            "::error file=steps/x.py,line=4,title=qhub%3A performance regression::step query"
        )
        assert "::notice title=qhub%3A performance verdict::1 regression of 1 compared" in out
        text = summary.read_text()
        assert text.startswith("earlier step\n### ❌ qhub performance: 1 regression of 1 compared")
        suite = ET.parse(project / "junit.xml").getroot()
        assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("1", "1", "0")
        assert suite.find("testcase/failure").get("type") == "regression"

    def test_junit_counts_not_compared_as_skipped(
        self, project: Path, make_observer: Any, fx: Any
    ) -> None:
        _run(make_observer, fx, 20, 1)
        assert main(["check", "--format", "text", "--junit-xml", "j.xml"]) == 0
        suite = ET.parse(project / "j.xml").getroot()
        assert (suite.get("tests"), suite.get("skipped")) == ("1", "1")
        assert "no baseline" in suite.find("testcase/skipped").get("message")


class TestBaselineAndReport:
    """Pinning, refusing, export/import, rebuilding reports."""

    def test_set_refuses_failed_runs(
        self, project: Path, make_observer: Any, fx: Any, capsys: Any
    ) -> None:
        run_id = _run(make_observer, fx, 10, 1, fail=True)
        assert main(["baseline", "set"]) == 2
        err = capsys.readouterr().err
        assert f"refusing 1 run(s) that did not pass: {run_id} (sigterm)" in err
        assert "--allow-failed" in err
        assert main(["baseline", "set", "--allow-failed"]) == 0

    def test_export_import(self, project: Path, make_observer: Any, fx: Any, capsys: Any) -> None:
        run_id = _run(make_observer, fx, 10, 1)
        assert main(["baseline", "export", "b.json"]) == 2  # nothing pinned yet
        assert main(["baseline", "set", "--run", run_id]) == 0
        assert main(["baseline", "export", "b.json"]) == 0
        data = json.loads((project / "b.json").read_text())
        assert data["schema"] == "qhub.baseline/2"
        assert len(data["items"]["step_definition"][QUERY_KEY]["runs"][0]) == 25
        assert main(["baseline", "import", "b.json"]) == 2  # baseline_file not configured
        (project / "qhub.json").write_text(
            json.dumps({"profiling": {"baseline_file": "perf/baseline.json"}})
        )
        assert main(["baseline", "import", "b.json"]) == 0
        assert main(["baseline", "clear"]) == 0
        capsys.readouterr()
        assert main(["baseline", "show"]) == 0
        out = capsys.readouterr().out
        assert "perf/baseline.json (present" in out
        assert "pinned baseline: none" in out
        _run(make_observer, fx, 30, 2)
        assert main(["check"]) == 1  # compared with the committed file

    def test_bad_baseline_file_does_not_stop_the_reports(
        self, project: Path, make_observer: Any, fx: Any, capfd: Any
    ) -> None:
        (project / "qhub.json").write_text(
            json.dumps({"report": {"summary": False}, "profiling": {"baseline_file": "b.json"}})
        )
        (project / "b.json").write_text("{ not json")
        _run(make_observer, fx, 10, 1)
        report = json.loads((project / "reports/qhub-report.json").read_text())
        assert report["analysis"]["state"] == "no baseline"
        assert any("baseline file ignored" in n for n in report["notes"])
        err = capfd.readouterr().err
        assert err.count("qhub: warning: baseline file ignored") == 1

    def test_show_in_empty_folder_creates_nothing(self, project: Path, capsys: Any) -> None:
        assert main(["baseline", "show"]) == 0
        assert "pinned baseline: none (no runs recorded yet" in capsys.readouterr().out
        assert main(["report"]) == 2
        assert sorted(p.name for p in project.iterdir()) == ["qhub.json"]

    def test_report_formats(self, project: Path, make_observer: Any, fx: Any, capsys: Any) -> None:
        _run(make_observer, fx, 10, 1)
        assert main(["report", "--format", "markdown", "--link", "https://ci/art/r.html"]) == 0
        out = capsys.readouterr()
        assert "[https://ci/art/r.html](https://ci/art/r.html)" in out.out
        assert main(["report", "--format", "html", "--format", "prometheus", "--dir", "out"]) == 0
        assert (project / "out/qhub-report.html").exists()
        assert (project / "out/qhub-metrics.prom").exists()
        assert "qhub: HTML report:" in capsys.readouterr().err
        assert main(["report", "--run", "missing"]) == 2

    def test_report_last_is_pooled(self, project: Path, make_observer: Any, fx: Any) -> None:
        _run(make_observer, fx, 10, 1)
        _run(make_observer, fx, 10, 2)
        assert main(["report", "--last", "2", "--format", "json"]) == 0
        report = json.loads((project / "reports/qhub-report.json").read_text())
        assert len(report["run"]["pooled_runs"]) == 2
        assert report["totals"]["steps"] == 50

    def test_workers_of_one_run_merge(
        self, project: Path, make_observer: Any, fx: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QHUB_RUN_ID", "ci-42")
        _run(make_observer, fx, 10, 1)
        _run(make_observer, fx, 10, 2)
        assert main(["report", "--format", "json"]) == 0
        report = json.loads((project / "reports/qhub-report.json").read_text())
        assert (report["run"]["id"], report["run"]["workers"]) == ("ci-42", 2)
        assert report["totals"]["steps"] == 50
        assert report["run"]["pooled_runs"] == []


def test_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "qhub"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "GITHUB_"))}
    proc = subprocess.run(
        [str(exe), "check", "--help"], capture_output=True, text=True, cwd=tmp_path, check=False,
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0
    assert "--junit-xml" in proc.stdout
    proc = subprocess.run(
        [str(exe), "check"], capture_output=True, text=True, cwd=tmp_path, check=False, env=env
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("qhub: error: no runs recorded yet")
    assert list(tmp_path.iterdir()) == []
