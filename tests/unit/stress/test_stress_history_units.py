"""Units of qhub.stress.history and the comparison's thresholds: statuses, what a usable
stored run is, recording that degrades to one warning, alpha taken from the settings."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qhub._warn import reset_once
from qhub.config import ProfilingSettings, StressSettings
from qhub.profiling.history import STRESS
from qhub.profiling.history.sqlite import SQLiteHistory
from qhub.stress.budgets import check_budgets
from qhub.stress.compare import compare_runs, compare_with_settings
from qhub.stress.histogram import LatencyHistogram
from qhub.stress.history import document_problem, load_document, record_run, run_status
from qhub.stress.measure import Measurements
from qhub.stress.result import StressResult
from tests.unit.stress.conftest import frozen_result


def _result(*, signal: str | None = None, budget_p95_ms: float | None = None) -> StressResult:
    m = Measurements(corrected=False)
    for i in range(30):
        m.request("GET /pets/{id}", 10.0 + i, 0.0, 200, None)
    m.tick(1.0)
    result = frozen_result(
        m,
        elapsed_s=1.5,
        stop_reason="signal" if signal else "iterations",
        signal_name=signal,
        cpu_percent=3.0,
        run_id="stress-unit",
    )
    settings = replace(StressSettings(), budget_p95_ms=budget_p95_ms)
    return result.with_budgets(check_budgets(result, settings))


class TestStatus:
    def test_passed_failed_interrupted(self) -> None:
        assert run_status(_result()) == "passed"
        assert run_status(_result(budget_p95_ms=0.001)) == "failed"
        assert run_status(_result(signal="SIGINT", budget_p95_ms=0.001)) == "interrupted"


class TestDocumentProblem:
    def test_a_real_run_is_usable(self) -> None:
        assert document_problem(_result().as_dict()) is None

    @pytest.mark.parametrize(
        ("change", "why"),
        [
            ({"kind": "behave"}, "not 'stress'"),
            ({"schema": 2}, "layout"),
            ({"run_id": 5}, "no run id"),
            ({"plan": "users=2"}, "no plan"),
            ({"histograms": ["x"]}, "no histograms"),
            ({"histograms": {"all": None}}, "no histograms"),
            ({"histograms": {1: "x"}}, "no histograms"),
        ],
    )
    def test_wrong_shapes_say_why(self, change: dict[str, Any], why: str) -> None:
        problem = document_problem({**_result().as_dict(), **change})
        assert problem is not None and why in problem

    @pytest.mark.parametrize("value", [None, [], "stress", 3])
    def test_not_an_object(self, value: Any) -> None:
        assert document_problem(value) == "not an object"


class TestRecording:
    def test_recorded_and_read_back(self, tmp_path: Path) -> None:
        result = _result(budget_p95_ms=0.001)
        with SQLiteHistory(tmp_path / "h.db") as history:
            assert record_run(history, result) is True
            [run] = history.runs(kind=STRESS)
            assert (run.id, run.status, run.wall_ms) == ("stress-unit", "failed", 1500.0)
            assert load_document(history, "stress-unit") == result.as_dict()
            assert load_document(history, "no-such-run") is None

    def test_a_history_that_refuses_the_write_is_one_warning(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        reset_once()
        with SQLiteHistory(tmp_path / "h.db"):
            pass  # the file exists; opened read-only below, a write must be refused
        with SQLiteHistory(tmp_path / "h.db", readonly=True) as history:
            assert record_run(history, _result()) is False
            assert record_run(history, _result()) is False
        assert record_run(None, _result()) is False
        err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and "this stress run is not recorded" in err[0], err


class TestThresholdsFromSettings:
    """The comparison uses the profiling settings' threshold, noise floor and alpha."""

    @staticmethod
    def _doc(samples: list[float]) -> dict[str, Any]:
        hist = LatencyHistogram()
        for value in samples:
            hist.record(value)
        plan = {"users": 1, "rate": None, "iterations": 5, "duration_s": None, "ramp_up_s": 0}
        return {"run_id": "r", "plan": plan, "histograms": {"GET /a": hist.encode()}}

    def test_alpha_threshold_and_floor_are_the_settings(self) -> None:
        rng = random.Random(7)
        base = self._doc([rng.gauss(20, 6) for _ in range(25)])
        cur = self._doc([rng.gauss(26, 6) for _ in range(25)])
        loose = compare_runs(base, cur, threshold_percent=1, noise_floor_ms=0, alpha=0.5)
        [change] = loose.regressions
        p = change.p_value
        assert 0 < p < 0.25
        settings = replace(
            ProfilingSettings(), regression_threshold_percent=1.0, noise_floor_ms=0.0
        )
        strict = replace(settings, alpha=p / 2)
        lenient = replace(settings, alpha=min(0.5, p * 2))
        assert compare_with_settings(base, cur, strict).regressions == []
        assert len(compare_with_settings(base, cur, lenient).regressions) == 1
        high = replace(lenient, regression_threshold_percent=10_000.0)
        assert compare_with_settings(base, cur, high).regressions == []
        assert len(compare_with_settings(base, cur, high, threshold_percent=1).regressions) == 1
        floor = replace(lenient, noise_floor_ms=1000.0)
        assert compare_with_settings(base, cur, floor).regressions == []
        assert len(compare_with_settings(base, cur, floor, noise_floor_ms=0).regressions) == 1
