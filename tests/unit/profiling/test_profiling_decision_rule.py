"""The decision rule: each evidence path with exact numbers, thresholds and the noise floor."""

from __future__ import annotations

import math

import pytest

from qhub.profiling.regression import RegressionCheck, Threshold
from qhub.profiling.student_t import t_cdf, t_quantile


class TestThresholdExpressions:
    """pytest-benchmark-shaped ``STAT:N%`` / ``STAT:Nms`` expressions."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("median:20%", Threshold("median", 20.0, "%")),
            (" mean : 7.5 % ", Threshold("mean", 7.5, "%")),
            ("p95:5ms", Threshold("p95", 5.0, "ms")),
            ("min:0%", Threshold("min", 0.0, "%")),
        ],
    )
    def test_parse(self, text: str, expected: Threshold) -> None:
        assert Threshold.parse(text) == expected

    @pytest.mark.parametrize("text", ["median", "avg:20%", "median:-5%", "median:20", "p99:1ms",
                                      "median:1e400%", ""])  # fmt: skip
    def test_refused_in_one_line(self, text: str) -> None:
        with pytest.raises(ValueError, match="bad threshold") as info:
            Threshold.parse(text)
        assert "\n" not in str(info.value)

    def test_exceeded(self) -> None:
        t = Threshold("median", 20.0, "%")
        assert t.exceeded([10.0], [12.5], +1)
        assert not t.exceeded([10.0], [11.9], +1)
        assert t.exceeded([10.0], [7.9], -1)
        assert Threshold("mean", 3.0, "ms").exceeded([10.0, 12.0], [14.5, 14.5], +1)
        assert not Threshold("mean", 3.0, "ms").exceeded([10.0, 12.0], [13.9, 14.0], +1)


class TestRatioRule:
    """One baseline run and few samples: ratio plus floor, its own threshold, labelled."""

    check = RegressionCheck(noise_floor_ms=2.0, single_run_percent=100.0)

    def test_ten_times_slower_is_a_regression(self) -> None:
        d = self.check.decide([[15.0]], [[150.0]])
        assert (d.verdict, d.method) == ("regression", "ratio")
        assert (d.baseline_ms, d.current_ms, d.change_percent, d.delta_ms) == (
            15.0, 150.0, 900.0, 135.0
        )  # fmt: skip
        assert d.bound_ms == 31.0  # max(2 x 15, 15 + 16 x max(1, 0.75))
        assert "1 baseline run: no noise estimate" in d.reason

    def test_under_the_ratio_threshold_is_unchanged(self) -> None:
        d = self.check.decide([[15.0]], [[30.5]])
        assert (d.verdict, d.method, d.bound_ms) == ("unchanged", "ratio", 31.0)
        assert "ratio rule's 100%" in d.reason

    def test_tiny_item_needs_sixteen_minimum_spreads(self) -> None:
        d = self.check.decide([[2.0]], [[17.9]])  # 9x, but within 2 + 16 * max(1, 0.1) = 18
        assert (d.verdict, d.bound_ms) == ("unchanged", 18.0)
        assert self.check.decide([[2.0]], [[18.1]]).verdict == "regression"

    def test_within_noise_floor(self) -> None:
        d = self.check.decide([[0.5]], [[2.4]])  # +380 % but 1.9 ms
        assert d.verdict == "unchanged"
        assert "noise floor" in d.reason

    def test_two_runs_use_their_median(self) -> None:
        d = self.check.decide([[10.0], [14.0]], [[30.0]])
        assert (d.verdict, d.baseline_ms, d.bound_ms) == ("regression", 12.0, 28.0)
        assert "2 baseline runs" in d.reason

    def test_improvement(self) -> None:
        d = self.check.decide([[100.0]], [[40.0]])  # bound min(100 / 2, 100 - 16 x 5)
        assert (d.verdict, d.change_percent, d.bound_ms) == ("unchanged", -60.0, 20.0)
        assert self.check.decide([[100.0]], [[19.0]]).verdict == "improvement"


class TestRunDistributionRule:
    """Few samples per run, >= 3 baseline runs: the prediction bound of the run values."""

    check = RegressionCheck(noise_floor_ms=2.0)

    def test_bound_is_median_plus_t_mad(self) -> None:
        values = [15.0, 19.0, 17.0, 16.0, 18.5]
        low, high = self.check.prediction_bounds(values)
        mad = 1.4826 * 1.5  # deviations from 17: 2 2 0 1 1.5 -> median 1.5
        margin = t_quantile(0.99, 4) * mad * math.sqrt(1 + 1 / 5)
        assert (low, high) == pytest.approx((17.0 - margin, 17.0 + margin))

    def test_spread_never_below_the_minimum(self) -> None:
        """Runs that agree closely: the minimum spread max(floor/2, 5 %) is used instead."""
        values = [15.0, 16.0, 15.5, 15.2, 15.8]  # 1.4826 * MAD = 0.44 < max(1.0, 0.775)
        _, high = self.check.prediction_bounds(values)
        assert high == pytest.approx(15.5 + t_quantile(0.99, 4) * 1.0 * math.sqrt(1.2))
        _, high = self.check.prediction_bounds([200.0, 201.0, 200.5])  # 5 % of 200.5
        assert high == pytest.approx(200.5 + t_quantile(0.99, 2) * 10.025 * math.sqrt(4 / 3))

    def test_twice_as_slow_with_three_runs(self) -> None:
        d = self.check.decide([[15.0], [16.0], [15.5]], [[31.0]])
        assert (d.verdict, d.method, d.baseline_ms) == ("regression", "run-distribution", 15.5)
        _low, high = self.check.prediction_bounds([15.0, 16.0, 15.5])
        assert d.bound_ms == round(high, 3)
        assert "prediction bound" in d.reason

    def test_inside_a_noisy_baseline_is_unchanged(self) -> None:
        # +30 % passes threshold and floor, but the baseline runs themselves spread that wide
        d = self.check.decide([[15.0], [22.0], [18.0], [14.0], [21.0]], [[23.4]])
        assert (d.verdict, d.method) == ("unchanged", "run-distribution")
        assert "spread" in d.reason

    def test_identical_baseline_runs_use_the_minimum_spread(self) -> None:
        # bound 15 + t(0.99, 2) * max(2/2, 0.75) * sqrt(4/3) = 23.042
        d = self.check.decide([[15.0], [15.0], [15.0]], [[23.0]])
        assert (d.verdict, d.bound_ms) == ("unchanged", 23.042)
        d = self.check.decide([[15.0], [15.0], [15.0]], [[23.1]])
        assert d.verdict == "regression"

    def test_a_hiccup_on_a_tiny_item_is_not_a_regression(self) -> None:
        """2 ms -> 6.4 ms once (+200 %, beyond the 2 ms floor): a scheduler hiccup."""
        d = self.check.decide([[2.1], [2.12], [2.08]], [[6.4]])
        assert (d.verdict, d.method) == ("unchanged", "run-distribution")

    def test_floor_is_per_step(self) -> None:
        """A 10-step scenario: floor 10 x 2 ms, minimum spread 10 ms; a burst of +26 ms on a
        19 ms scenario is inside 19 + 8.04 x 10, a tenfold slowdown is not."""
        base = [[19.0], [19.3], [18.7]]
        d = self.check.decide(base, [[45.0]], parts=10)
        assert (d.verdict, d.bound_ms) == ("unchanged", 99.42)
        assert self.check.decide(base, [[45.0]]).verdict == "regression"  # as one step
        assert self.check.decide(base, [[190.0]], parts=10).verdict == "regression"

    def test_several_current_runs_use_their_median(self) -> None:
        d = self.check.decide([[15.0], [16.0], [15.5]], [[31.0], [15.6], [32.0]])
        assert (d.verdict, d.current_ms) == ("regression", 31.0)


class TestMannWhitneyRule:
    """Enough samples on both sides: the rank test, plus the run spread when known."""

    def test_significant_slowdown(self) -> None:
        check = RegressionCheck(noise_floor_ms=2.0)
        base = [[10.0 + i * 0.1 for i in range(10)]]
        cur = [[14.0 + i * 0.1 for i in range(10)]]
        d = check.decide(base, cur)
        assert (d.verdict, d.method) == ("regression", "mann-whitney")
        assert d.p_value is not None and d.p_value < 1e-4
        assert d.bound_ms is None  # one baseline run: no run spread to check

    def test_not_significant_when_overlapping(self) -> None:
        check = RegressionCheck(noise_floor_ms=0.0, thresholds=(Threshold("median", 1.0, "%"),))
        d = check.decide([[10, 20, 30, 40, 50]], [[12, 22, 29, 41, 55]])
        assert (d.verdict, d.method) == ("unchanged", "mann-whitney")
        assert "not significant" in d.reason

    def test_whole_run_slower_within_run_spread_is_not_flagged(self) -> None:
        """Many samples, a busy-machine run: significant, but inside the runs' spread."""
        check = RegressionCheck(noise_floor_ms=2.0)
        base = [[v] * 10 for v in (10.0, 13.0, 10.5, 12.5, 11.0)]
        base = [[x + j * 0.01 for j, x in enumerate(r)] for r in base]
        cur = [[13.3 + j * 0.01 for j in range(10)]]
        d = check.decide(base, cur)
        assert d.method == "mann-whitney"
        assert d.verdict == "unchanged"
        assert "within the baseline runs' spread" in d.reason

    def test_three_samples_each_go_to_the_run_rule(self) -> None:
        check = RegressionCheck()
        d = check.decide([[10.0], [10.2], [9.9]], [[20.0], [20.1], [19.8]])
        assert d.method == "run-distribution"


def test_student_t_matches_tables() -> None:
    assert t_quantile(0.99, 2) == pytest.approx(6.965, abs=5e-4)
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=5e-4)
    assert t_quantile(0.01, 5) == pytest.approx(-3.365, abs=5e-4)
    assert t_cdf(0.0, 7) == pytest.approx(0.5)


def test_decide_needs_samples() -> None:
    with pytest.raises(ValueError):
        RegressionCheck().decide([], [[1.0]])
