"""`qhub report`, `qhub baseline` and `qhub check` in-process and once as a console script."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qhub.cli import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("QHUB_")]:
        monkeypatch.delenv(key)
    (tmp_path / "qhub.json").write_text(json.dumps({"report": {"summary": False}}))
    return tmp_path


def _run(make_observer: Any, fx: Any, center_ms: float, seed: int) -> str:
    rng = random.Random(seed)
    d = make_observer()
    d.start()
    step = fx.definition("query", 4)
    for i in range(25):
        d.step(fx.FakeStep(f"query {i}", match=step), center_ms * (1 + rng.uniform(-0.05, 0.05)))
    d.finish()
    return str(d.obs.document["run"]["id"])


class TestCheck:
    """The CI gate."""

    def test_no_runs_is_an_error(self, project: Path, capsys: Any) -> None:
        assert main(["check"]) == 2
        assert "no runs recorded" in capsys.readouterr().err

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
        out = capsys.readouterr().out
        assert "REGR step_definition: query [steps/x.py:4]" in out
        assert main(["check", "--threshold", "60"]) == 0
        capsys.readouterr()
        assert main(["check", "--format", "json"]) == 1
        analysis = json.loads(capsys.readouterr().out)
        assert analysis["regressions"][0]["key"] == "steps/x.py:4"

    def test_improvement_passes(
        self, project: Path, make_observer: Any, fx: Any, capsys: Any
    ) -> None:
        _run(make_observer, fx, 30, 1)
        main(["baseline", "set"])
        _run(make_observer, fx, 10, 2)
        assert main(["check"]) == 0
        assert "IMPR step_definition" in capsys.readouterr().out

    def test_require_baseline(self, project: Path, make_observer: Any, fx: Any) -> None:
        _run(make_observer, fx, 10, 1)
        assert main(["check"]) == 0
        assert main(["check", "--require-baseline"]) == 2

    def test_budget_gate(self, project: Path, make_observer: Any, fx: Any) -> None:
        (project / "qhub.json").write_text(json.dumps({"profiling": {"budget_step_p95_ms": 5}}))
        _run(make_observer, fx, 10, 1)
        assert main(["check"]) == 0
        assert main(["check", "--fail-on-budget"]) == 1


class TestBaselineAndReport:
    """Pinning, export/import, rebuilding reports."""

    def test_export_import(self, project: Path, make_observer: Any, fx: Any, capsys: Any) -> None:
        run_id = _run(make_observer, fx, 10, 1)
        assert main(["baseline", "export", "b.json"]) == 2  # nothing pinned yet
        assert main(["baseline", "set", "--run", run_id]) == 0
        assert main(["baseline", "export", "b.json"]) == 0
        data = json.loads((project / "b.json").read_text())
        assert len(data["step_definitions"]["steps/x.py:4"]) == 25
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

    def test_report_merges_group(
        self, project: Path, make_observer: Any, fx: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QHUB_RUN_ID", "ci-42")
        _run(make_observer, fx, 10, 1)
        _run(make_observer, fx, 10, 2)
        assert main(["report", "--format", "json"]) == 0
        report = json.loads((project / "reports/qhub-report.json").read_text())
        assert report["run"]["workers"] == 2
        assert report["totals"]["steps"] == 50


def test_console_script(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "qhub"
    proc = subprocess.run(
        [str(exe), "check", "--help"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert proc.returncode == 0
    assert "--threshold" in proc.stdout
    proc = subprocess.run(
        [str(exe), "report"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("qhub: error: no runs recorded")
