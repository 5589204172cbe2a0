"""Deciding whether one item (step definition, scenario, block) got slower or faster.

One rule for every sample size. An item has samples per run on each side (a step called
50 times per run has 50 per run; a scenario or a once-per-run step has one). The evidence
test is chosen by what the samples allow:

``mann-whitney``
    Both sides have at least :data:`MIN_TEST_SAMPLES` samples: a one-sided Mann-Whitney U
    test at ``alpha`` (see :mod:`qhub.profiling.mannwhitney`). When the baseline holds at
    least :data:`MIN_DISTRIBUTION_RUNS` runs, the current value must also lie outside the
    run-to-run spread below, so a whole run on a busy machine does not count.
``run-distribution``
    Few samples per run, at least :data:`MIN_DISTRIBUTION_RUNS` baseline runs: the current
    value is compared with the baseline runs' distribution, a one-sided prediction bound
    ``median + t(1-alpha, n-1) * sigma * sqrt(1 + 1/n)`` over the n per-run values, where
    ``sigma`` is ``1.4826 * MAD`` (median and MAD: robust to one odd baseline run) but never
    less than the *minimum spread*: ``max(noise_floor_ms / 2, 5 % of the median)`` — three
    runs that happen to agree to the microsecond say nothing about the next one. Designed
    for a false-alarm rate of ``alpha`` per item when run-to-run noise is roughly normal.
``ratio``
    Few samples and only one or two baseline runs: there is no estimate of run-to-run
    noise, so a plain ratio rule applies, with its own, larger threshold
    (``single_run_percent``, default 100 %: twice as slow), and the change must also exceed
    :data:`RATIO_SPREADS` minimum spreads (by default 16 ms, or 80 % of a large item).

Whatever the test, a change also has to pass the thresholds: the statistic (median by
default) moved by more than every ``STAT:N%`` / ``STAT:Nms`` expression allows — the
shape of pytest-benchmark's ``--benchmark-compare-fail`` — and by more than the absolute
``noise_floor_ms``. The noise floor is per step: an item made of several steps (a scenario
of 10 steps) gets 10 times the floor, as each of its steps jitters on a busy machine.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from qhub._figures import percentile
from qhub._record import frozen_record
from qhub.profiling.mannwhitney import mann_whitney_u
from qhub.profiling.student_t import t_quantile
from qhub.profiling.timings import median

DEFAULT_ALPHA = 0.01
"""Significance level: 1 % keeps a suite of hundreds of items from crying wolf."""
MIN_TEST_SAMPLES = 5
"""Samples needed on each side for the Mann-Whitney test (5 vs 5 can reach p = 0.004)."""
MIN_DISTRIBUTION_RUNS = 3
"""Baseline runs needed to estimate run-to-run spread."""
MAD_TO_SIGMA = 1.4826
MIN_RELATIVE_SPREAD = 0.05
"""Run-to-run spread assumed at least: 5 % of an item's value (and half the noise floor)."""
RATIO_SPREADS = 16.0
"""The ratio rule's absolute margin in minimum spreads: twice what the prediction bound of
three runs asks (t(0.99, 2) * sqrt(4/3) = 8.04), as one run says nothing of the noise."""

STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "median": median,
    "mean": lambda v: math.fsum(v) / len(v),
    "min": min,
    "max": max,
    "p95": lambda v: percentile(v, 95.0),
}

_EXPR = re.compile(r"^\s*(median|mean|min|max|p95)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*(%|ms)\s*$")


@frozen_record
class Threshold:
    """``STAT:N%`` (relative) or ``STAT:Nms`` (absolute) change that counts."""

    statistic: str = "median"
    value: float = 20.0
    unit: str = "%"

    @classmethod
    def parse(cls, expression: str) -> Threshold:
        """``median:20%``, ``mean:10%``, ``p95:5ms``...; ValueError in one line otherwise."""
        found = _EXPR.match(expression)
        if found is None:
            raise ValueError(
                f"bad threshold {expression!r}: expected STAT:N% or STAT:Nms with STAT one of "
                f"{', '.join(STATISTICS)} (e.g. median:20%)"
            )
        value = float(found.group(2))
        if not math.isfinite(value) or value > 1e9:
            raise ValueError(f"bad threshold {expression!r}: value out of range")
        return cls(found.group(1), value, found.group(3))

    def __str__(self) -> str:
        return f"{self.statistic}:{self.value:g}{self.unit}"

    def exceeded(self, baseline: Sequence[float], current: Sequence[float], sign: int) -> bool:
        """True when ``current`` moved past this threshold in direction ``sign`` (+1 slower)."""
        stat = STATISTICS[self.statistic]
        base, cur = stat(baseline), stat(current)
        delta = (cur - base) * sign
        if self.unit == "ms":
            return delta > self.value
        if base <= 0:
            return delta > 0
        return delta / base * 100.0 > self.value


@frozen_record
class Decision:
    """What the rule found for one item."""

    verdict: str
    """``regression``, ``improvement`` or ``unchanged``."""
    method: str
    """``mann-whitney``, ``run-distribution`` or ``ratio``."""
    statistic: str
    baseline_ms: float
    current_ms: float
    change_percent: float | None
    """``None`` when the baseline value is zero."""
    delta_ms: float
    p_value: float | None
    """Mann-Whitney one-sided p-value (``None`` for the other methods)."""
    bound_ms: float | None
    """The value the current one had to pass: the prediction bound or the ratio bound."""
    reason: str
    """One line saying why."""


@frozen_record
class RegressionCheck:
    """The decision rule with its settings (one object per comparison run)."""

    thresholds: tuple[Threshold, ...] = (Threshold(),)
    noise_floor_ms: float = 2.0
    alpha: float = DEFAULT_ALPHA
    single_run_percent: float = 100.0
    """Relative change the ``ratio`` rule needs (one or two baseline runs)."""
    min_test_samples: int = MIN_TEST_SAMPLES
    min_distribution_runs: int = MIN_DISTRIBUTION_RUNS

    @classmethod
    def from_expressions(
        cls, expressions: Sequence[str] | str | None = None, **settings: Any
    ) -> RegressionCheck:
        """A check from ``"median:20%"``-style expressions (a string may hold several,
        comma-separated); other settings as keywords."""
        if isinstance(expressions, str):
            expressions = [e for e in expressions.split(",") if e.strip()]
        parsed = tuple(Threshold.parse(e) for e in expressions or ()) or (Threshold(),)
        return cls(thresholds=parsed, **settings)

    @property
    def statistic(self) -> str:
        """The statistic of the first threshold: what the tests compare."""
        return self.thresholds[0].statistic

    def describe(self) -> str:
        """One line: thresholds, floor and alpha."""
        return (
            f"{', '.join(str(t) for t in self.thresholds)}, noise floor {self.noise_floor_ms:g} ms,"
            f" alpha {self.alpha:g}; one-run ratio rule {self.single_run_percent:g}%"
        )

    def decide(
        self,
        baseline_runs: Sequence[Sequence[float]],
        current_runs: Sequence[Sequence[float]],
        *,
        parts: int = 1,
    ) -> Decision:
        """Judge one item from its samples per run on each side (none of them empty).

        ``parts``: how many steps the item is made of (a scenario's steps); the noise floor
        and the minimum spread grow with it.
        """
        if parts > 1:
            scaled = dataclasses.replace(self, noise_floor_ms=self.noise_floor_ms * parts)
            return scaled.decide(baseline_runs, current_runs)
        stat = STATISTICS[self.statistic]
        base_runs = [list(r) for r in baseline_runs if r]
        cur_runs = [list(r) for r in current_runs if r]
        if not base_runs or not cur_runs:
            raise ValueError("decide() needs samples on both sides")
        base_all = [v for r in base_runs for v in r]
        cur_all = [v for r in cur_runs for v in r]
        base_values = [stat(r) for r in base_runs]
        cur_value = median([stat(r) for r in cur_runs])
        enough_runs = len(base_values) >= self.min_distribution_runs
        if len(base_all) >= self.min_test_samples and len(cur_all) >= self.min_test_samples:
            return self._mann_whitney(base_all, cur_all, base_values if enough_runs else None)
        if enough_runs:
            return self._distribution(base_values, cur_value, base_all, cur_all)
        return self._ratio(median(base_values), cur_value, base_all, cur_all, len(base_values))

    # -- the three evidence tests ----------------------------------------------------------
    def _effect(
        self, base: float, cur: float, base_all: list[float], cur_all: list[float]
    ) -> tuple[int, str | None]:
        """(+1 slower / -1 faster / 0, why not) after the thresholds and the noise floor."""
        sign = 1 if cur > base else -1
        delta = abs(cur - base)
        if delta <= self.noise_floor_ms:
            return 0, f"change {delta:.3f} ms within the noise floor ({self.noise_floor_ms:g} ms)"
        if not any(t.exceeded(base_all, cur_all, sign) for t in self.thresholds):
            limits = ", ".join(str(t) for t in self.thresholds)
            return 0, f"change within the threshold ({limits})"
        return sign, None

    def _result(
        self,
        verdict_sign: int,
        method: str,
        base: float,
        cur: float,
        reason: str,
        *,
        p: float | None = None,
        bound: float | None = None,
    ) -> Decision:
        verdict = {1: "regression", -1: "improvement"}.get(verdict_sign, "unchanged")
        return Decision(
            verdict=verdict,
            method=method,
            statistic=self.statistic,
            baseline_ms=round(base, 3),
            current_ms=round(cur, 3),
            change_percent=round((cur - base) / base * 100.0, 1) if base > 0 else None,
            delta_ms=round(cur - base, 3),
            p_value=None if p is None else float(f"{p:.3g}"),
            bound_ms=None if bound is None else round(bound, 3),
            reason=reason,
        )

    def _mann_whitney(
        self, base_all: list[float], cur_all: list[float], run_values: list[float] | None
    ) -> Decision:
        stat = STATISTICS[self.statistic]
        base, cur = stat(base_all), stat(cur_all)
        method = "mann-whitney"
        sign, why_not = self._effect(base, cur, base_all, cur_all)
        if sign == 0:
            return self._result(0, method, base, cur, str(why_not))
        result = mann_whitney_u(cur_all, base_all)
        p = result.p_greater if sign > 0 else result.p_less
        if p >= self.alpha:
            return self._result(
                0, method, base, cur, f"not significant (p = {p:.2g} >= {self.alpha:g})", p=p
            )
        if run_values is not None:
            low, high = self.prediction_bounds(run_values)
            bound = high if sign > 0 else low
            if (cur - bound) * sign <= 0:
                return self._result(
                    0, method, base, cur,
                    f"significant, but within the baseline runs' spread (bound {bound:.3f} ms)",
                    p=p, bound=bound,
                )  # fmt: skip
            return self._result(
                sign, method, base, cur,
                f"p = {p:.2g} < {self.alpha:g} and beyond the baseline runs' spread",
                p=p, bound=bound,
            )  # fmt: skip
        return self._result(sign, method, base, cur, f"p = {p:.2g} < {self.alpha:g}", p=p)

    def min_spread(self, center: float) -> float:
        """The run-to-run standard deviation assumed at least for an item of this size."""
        return max(self.noise_floor_ms / 2.0, MIN_RELATIVE_SPREAD * abs(center))

    def prediction_bounds(self, values: Sequence[float]) -> tuple[float, float]:
        """One-sided (lower, upper) prediction bounds at ``alpha`` for one more run's value."""
        n = len(values)
        center = median(values)
        sigma = max(median([abs(v - center) for v in values]) * MAD_TO_SIGMA,
                    self.min_spread(center))  # fmt: skip
        margin = t_quantile(1.0 - self.alpha, n - 1) * sigma * math.sqrt(1.0 + 1.0 / n)
        return center - margin, center + margin

    def _distribution(
        self, run_values: list[float], cur: float, base_all: list[float], cur_all: list[float]
    ) -> Decision:
        method = "run-distribution"
        base = median(run_values)
        sign, why_not = self._effect(base, cur, base_all, cur_all)
        low, high = self.prediction_bounds(run_values)
        if sign == 0:
            return self._result(0, method, base, cur, str(why_not), bound=high)
        bound = high if sign > 0 else low
        if (cur - bound) * sign <= 0:
            return self._result(
                0, method, base, cur,
                f"within the {len(run_values)} baseline runs' spread (bound {bound:.3f} ms)",
                bound=bound,
            )  # fmt: skip
        return self._result(
            sign, method, base, cur,
            f"beyond the prediction bound {bound:.3f} ms of {len(run_values)} baseline runs",
            bound=bound,
        )  # fmt: skip

    def _ratio(
        self, base: float, cur: float, base_all: list[float], cur_all: list[float], runs: int
    ) -> Decision:
        method = "ratio"
        sign, why_not = self._effect(base, cur, base_all, cur_all)
        factor = 1.0 + self.single_run_percent / 100.0
        margin = RATIO_SPREADS * self.min_spread(base)
        bound = (
            max(base * factor, base + margin) if cur >= base else min(base / factor, base - margin)
        )
        label = f"{runs} baseline run{'s' if runs > 1 else ''}: no noise estimate"
        if sign == 0:
            return self._result(0, method, base, cur, f"{why_not} ({label})", bound=bound)
        if (cur - bound) * sign <= 0:
            return self._result(
                0, method, base, cur,
                f"under the ratio rule's {self.single_run_percent:g}% ({label})", bound=bound,
            )  # fmt: skip
        return self._result(
            sign, method, base, cur,
            f"beyond the ratio rule's {self.single_run_percent:g}% ({label})", bound=bound,
        )  # fmt: skip
