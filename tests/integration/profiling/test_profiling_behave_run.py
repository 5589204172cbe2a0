"""Real behave runs in a subprocess: install(), the Runner, attribution, CI gate, workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def parts(report: dict[str, Any]) -> dict[str, float]:
    return {p["name"]: p["ms"] for p in report["attribution"]["parts"]}


class TestInstall:
    """`install(context)` in environment.py."""

    def test_end_to_end(self, make_project: Any, behave_run: Any, report_of: Any) -> None:
        project = make_project()
        result = behave_run(project)
        assert result.returncode == 0, result.output
        summary = result.stdout[result.stdout.index("qhub profile:") :]
        summary_lines = summary.split("\n1 feature passed")[0].strip().splitlines()
        assert summary_lines[-1] == f"qhub: HTML report: {project / 'reports/qhub-report.html'}"
        report = report_of(project)
        rows = {r["pattern"]: r for r in report["step_definitions"]}
        assert set(rows) == {"a number {n:d}", "I wait {ms:d} ms", "it is fine"}
        wait = rows["I wait {ms:d} ms"]
        assert wait["key"] == "features/steps/steps.py:15"  # the @when line
        assert wait["count"] == 3
        assert wait["min_ms"] >= 5.0
        assert wait["texts"][0]["text"] == "When I wait 15 ms"
        assert report["totals"]["steps"] == 9
        assert report["totals"]["scenarios"] == 3
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
        att = report["attribution"]
        assert att["parts_total_ms"] == pytest.approx(att["wall_ms"], abs=0.01)
        outside_ms = result.wall_s * 1000
        assert abs(att["wall_ms"] - outside_ms) <= 0.05 * outside_ms, (att, outside_ms)


class TestCheckGate:
    """History, baseline and `qhub check` over real runs."""

    def test_slowed_step_fails_the_gate(
        self, make_project: Any, behave_run: Any, feature_text: Any
    ) -> None:
        waits = [5] * 15
        project = make_project(
            features={"a.feature": feature_text("A", waits)},
            config={"report": {"formats": ["json"]}},
        )
        assert behave_run(project).returncode == 0
        qhub = [sys.executable, "-m", "qhub"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*qhub, *args], cwd=project, capture_output=True, text=True, env=env, check=False
            )

        assert run("baseline", "set").returncode == 0
        (project / "features/a.feature").write_text(feature_text("A", [40] * 15))
        assert behave_run(project).returncode == 0
        check = run("check", "--threshold", "20")
        assert check.returncode == 1, check.stdout + check.stderr
        assert "REGR step_definition: I wait {ms:d} ms" in check.stdout
        md = run("report", "--format", "markdown")
        assert "regression(s)" in md.stdout.splitlines()[0]


class TestParallelWorkers:
    """Workers sharing QHUB_RUN_ID are merged into one report."""

    def test_two_workers_one_report(
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
        assert report["run"]["workers"] == 2
        assert sorted(report["run"]["worker_ids"]) == ["0", "1"]
        assert report["totals"]["scenarios"] == 5
        assert report["totals"]["steps"] == 15


class TestBehavex:
    """behavex --parallel-processes 2: each worker records, one merged report."""

    def test_behavex_workers_merge(
        self, make_project: Any, report_of: Any, feature_text: Any
    ) -> None:
        behavex = Path(sys.executable).parent / "behavex"
        if not behavex.exists():
            pytest.fail("behavex is not installed in the test environment")
        project = make_project(
            features={"a.feature": feature_text("A", [5, 5]), "b.feature": feature_text("B", [5])},
            config={"report": {"formats": ["json"]}},
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}
        env["QHUB_RUN_ID"] = "bx-group"
        proc = subprocess.run(
            [str(behavex), "--parallel-processes", "2", "--parallel-scheme", "feature"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        qhub = subprocess.run(
            [sys.executable, "-m", "qhub", "report", "--format", "json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert qhub.returncode == 0, qhub.stderr
        report = report_of(project)
        assert report["run"]["group"] == "bx-group"
        assert report["run"]["workers"] == 2
        assert report["totals"]["scenarios"] == 3
        assert report["totals"]["steps"] == 9
