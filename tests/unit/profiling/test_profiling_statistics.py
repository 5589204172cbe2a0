"""Percentiles, Mann-Whitney U and the regression rule, with exact numbers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from qhub.profiling.mannwhitney import mann_whitney_u
from qhub.profiling.regression import RegressionCheck, Threshold
from qhub.profiling.timings import TimingStats, percentile


class TestPercentiles:
    """Linear interpolation between closest ranks."""

    def test_values(self) -> None:
        data = [15, 20, 35, 40, 50]
        assert percentile(data, 0) == 15
        assert percentile(data, 40) == 29.0
        assert percentile(data, 50) == 35
        assert percentile(data, 95) == 48.0
        assert percentile(data, 100) == 50
        assert percentile([], 50) == 0.0
        assert percentile([7], 95) == 7.0

    def test_timing_stats(self) -> None:
        stats = TimingStats([1_000_000, 2_000_000, 3_000_000, 10_000_000])
        assert stats.as_dict() == {
            "count": 4,
            "total_ms": 16.0,
            "mean_ms": 4.0,
            "min_ms": 1.0,
            "p50_ms": 2.5,
            "p95_ms": 8.95,
            "max_ms": 10.0,
        }


class TestMannWhitney:
    """Exact and normal-approximation p-values."""

    def test_exact_three_vs_three_cannot_reach_five_percent(self) -> None:
        r = mann_whitney_u([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
        assert r.method == "exact"
        assert r.u == 9
        assert r.p_greater == pytest.approx(1 / 20)
        assert r.p_less == 1.0

    def test_exact_five_vs_five(self) -> None:
        r = mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])
        assert r.p_greater == pytest.approx(1 / 252)

    @pytest.mark.parametrize(("n1", "n2"), [(3, 4), (4, 4), (2, 6), (5, 3)])
    def test_exact_matches_brute_force(self, n1: int, n2: int) -> None:
        """Every split of 1..n into current/baseline: the counted P(U >= u) is right."""
        from itertools import combinations

        values = list(range(1, n1 + n2 + 1))
        splits = list(combinations(values, n1))

        def u_of(cur: tuple[int, ...]) -> int:
            base = [v for v in values if v not in cur]
            return sum(1 for c in cur for b in base if c > b)

        for cur in splits[:: max(1, len(splits) // 7)]:
            base = [v for v in values if v not in cur]
            u = u_of(cur)
            expected = sum(1 for other in splits if u_of(other) >= u) / len(splits)
            result = mann_whitney_u(list(cur), base)
            assert result.u == u
            assert result.p_greater == pytest.approx(expected)

    def test_normal_with_ties(self) -> None:
        cur = [2.0] * 30 + [3.0] * 30
        base = [1.0] * 30 + [2.0] * 30
        r = mann_whitney_u(cur, base)
        assert r.method == "normal"
        assert r.p_greater < 1e-6
        assert r.p_less > 0.99

    def test_identical_samples(self) -> None:
        r = mann_whitney_u([1.0] * 30, [1.0] * 30)
        assert (r.p_greater, r.p_less) == (1.0, 1.0)


def _noisy(rng: random.Random, center_ms: float, n: int, spread: float = 0.05) -> list[float]:
    return [center_ms * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def _check(percent: float = 20.0, floor: float = 2.0) -> RegressionCheck:
    return RegressionCheck(thresholds=(Threshold("median", percent, "%"),), noise_floor_ms=floor)


class TestRegressionRuleOnManySamples:
    """Threshold AND significance AND noise floor (the Mann-Whitney path)."""

    def test_thirty_percent_with_enough_samples_is_flagged(self) -> None:
        rng = random.Random(1)
        d = _check().decide([_noisy(rng, 100, 30)], [_noisy(rng, 130, 30)])
        assert (d.verdict, d.method) == ("regression", "mann-whitney")
        assert d.change_percent is not None and 25 < d.change_percent < 35
        assert d.p_value is not None and d.p_value < 0.01

    def test_same_slowdown_with_three_noisy_samples_in_one_run_is_not(self) -> None:
        rng = random.Random(2)
        d = _check().decide([_noisy(rng, 100, 3, 0.3)], [_noisy(rng, 130, 3, 0.3)])
        assert d.verdict == "unchanged"
        assert d.method == "ratio"  # one baseline run of 3: no test possible, the ratio rule

    def test_microsecond_step_stays_under_noise_floor(self) -> None:
        rng = random.Random(3)
        base, cur = _noisy(rng, 0.05, 500), _noisy(rng, 0.065, 500)
        assert _check().decide([base], [cur]).verdict == "unchanged"
        # the same data with no noise floor is a clear regression: only the floor hid it
        assert _check(floor=0.0).decide([base], [cur]).verdict == "regression"

    def test_below_threshold_is_not_flagged(self) -> None:
        rng = random.Random(4)
        assert _check().decide([_noisy(rng, 100, 200)], [_noisy(rng, 110, 200)]).verdict == (
            "unchanged"
        )

    def test_improvement_reported(self) -> None:
        rng = random.Random(5)
        d = _check().decide([_noisy(rng, 100, 30)], [_noisy(rng, 50, 30)])
        assert d.verdict == "improvement"
        assert d.change_percent == pytest.approx(-50, abs=5)


def test_regression_through_observer(make_observer: Any, fx: Any) -> None:
    """A step definition slowed by 30% across runs is flagged in the run's report."""
    from qhub.profiling.history import open_history

    rng = random.Random(7)
    slow = fx.definition("slow", 5)
    for center in (100, 130):
        d = make_observer()
        d.start()
        for i, ms in enumerate(_noisy(rng, center, 30)):
            d.step(fx.FakeStep(f"slow {i}", match=slow), ms)
        d.finish()
        if center == 100:
            with open_history(d.obs.config) as history:
                history.set_baseline([d.record.run.id])
    verdict = d.report.verdict
    assert [(c.key, c.kind) for c in verdict.regressions] == [
        ("steps/x.py::given::slow", "step_definition")
    ]
    assert verdict.baseline is not None and verdict.baseline.source == "history:default"
