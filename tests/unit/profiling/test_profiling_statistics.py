"""Percentiles, Mann-Whitney U and the regression rule, with exact numbers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from qhub.profiling.mannwhitney import mann_whitney_u
from qhub.profiling.regression import RegressionCheck
from qhub.profiling.stats import TimingStats, percentile


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


class TestRegressionRule:
    """Threshold AND significance AND noise floor."""

    def test_thirty_percent_with_enough_samples_is_flagged(self) -> None:
        rng = random.Random(1)
        change = RegressionCheck(20.0, 2.0).compare(
            "step_definition", "steps/x.py:3", "slow", _noisy(rng, 130, 30), _noisy(rng, 100, 30)
        )
        assert change is not None
        assert change.direction == "regression"
        assert 25 < change.change_percent < 35
        assert change.p_value < 0.01

    def test_same_slowdown_with_three_noisy_samples_is_not(self) -> None:
        rng = random.Random(2)
        check = RegressionCheck(20.0, 2.0)
        assert (
            check.compare("s", "k", "n", _noisy(rng, 130, 3, 0.3), _noisy(rng, 100, 3, 0.3)) is None
        )

    def test_microsecond_step_stays_under_noise_floor(self) -> None:
        rng = random.Random(3)
        check = RegressionCheck(20.0, 2.0)
        assert check.compare("s", "k", "n", _noisy(rng, 0.065, 500), _noisy(rng, 0.05, 500)) is None
        # the same data with no noise floor is a clear regression: only the floor hid it
        assert (
            RegressionCheck(20.0, 0.0).compare(
                "s", "k", "n", _noisy(rng, 0.065, 500), _noisy(rng, 0.05, 500)
            )
            is not None
        )

    def test_below_threshold_is_not_flagged(self) -> None:
        rng = random.Random(4)
        check = RegressionCheck(20.0, 2.0)
        assert check.compare("s", "k", "n", _noisy(rng, 110, 200), _noisy(rng, 100, 200)) is None

    def test_improvement_reported(self) -> None:
        rng = random.Random(5)
        change = RegressionCheck(20.0, 2.0).compare(
            "scenario", "k", "n", _noisy(rng, 50, 30), _noisy(rng, 100, 30)
        )
        assert change is not None
        assert change.direction == "improvement"
        assert change.change_percent == pytest.approx(-50, abs=5)

    def test_compare_all_only_common_keys(self) -> None:
        rng = random.Random(6)
        changes = RegressionCheck().compare_all(
            "step_definition",
            {"a": _noisy(rng, 200, 20), "new": _noisy(rng, 5, 20)},
            {"a": _noisy(rng, 100, 20), "gone": _noisy(rng, 5, 20)},
            {"a": "step a"},
        )
        assert [(c.key, c.name) for c in changes] == [("a", "step a")]


def test_regression_through_observer(make_observer: Any, fx: Any) -> None:
    """A step definition slowed by 30% across runs is flagged in the run's analysis."""
    from qhub.profiling.history import History

    rng = random.Random(7)
    slow = fx.definition("slow", 5)
    for center in (100, 130):
        d = make_observer()
        d.start()
        for i, ms in enumerate(_noisy(rng, center, 30)):
            d.step(fx.FakeStep(f"slow {i}", match=slow), ms)
        d.finish()
        if center == 100:
            with History(d.obs.config.path(".qhub/history.db")) as history:
                history.set_baseline([d.obs.document["run"]["id"]])
    import json

    report = json.loads(d.obs.config.path("reports/qhub-report.json").read_text())
    regressions = report["analysis"]["regressions"]
    assert [(r["key"], r["kind"]) for r in regressions] == [("steps/x.py:5", "step_definition")]
    assert report["analysis"]["baseline"]["source"] == "history:default"
