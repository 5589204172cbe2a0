"""A stress run against the previous one: what got slower, from all samples.

Two runs are compared only when they had the same shape (users, target rate, iterations or
duration after the multiplier): latencies under different loads are different experiments,
and calling their difference a regression would be dishonest. For each endpoint seen in
both runs, and for all requests together, a change counts when all of these hold (the
rules normal runs are judged by):

- the p50 or the p95 moved by at least ``threshold_percent``,
- and by at least ``noise_floor_ms``,
- and the Mann-Whitney U test over the two runs' samples (read from their HDR histograms)
  says the shift is real (one-sided p below ``alpha``),
- with at least :data:`MIN_SAMPLES` requests on each side.

Histograms above :data:`MAX_TEST_SAMPLES` samples are thinned in proportion before the
test (the shape is kept; the test loses a little power, never gains any).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from qhub._record import frozen_record
from qhub.stress.histogram import LatencyHistogram

MIN_SAMPLES = 20
MAX_TEST_SAMPLES = 50_000
_SHAPE = ("users", "rate", "iterations", "duration_s", "ramp_up_s")


@frozen_record(slots=False)
class StressChange:
    """One endpoint that got significantly slower or faster."""

    endpoint: str
    direction: str
    """``slower`` or ``faster``."""
    stat: str
    """The percentile that moved most (``p50`` or ``p95``)."""
    baseline_ms: float
    current_ms: float
    change_percent: float
    p_value: float
    baseline_count: int
    current_count: int


@frozen_record(slots=False)
class StressComparison:
    """The verdict of :func:`compare_runs`."""

    baseline_run: str
    comparable: bool
    reason: str
    regressions: list[StressChange]
    improvements: list[StressChange]
    unchanged: int
    too_few_samples: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _samples(hist: LatencyHistogram) -> list[float]:
    values = hist.values()
    total = sum(n for _, n in values)
    scale = min(1.0, MAX_TEST_SAMPLES / total) if total else 1.0
    out: list[float] = []
    for value, count in values:
        out.extend([value] * max(1, round(count * scale)) if count else [])
    return out


def _histograms(run: Mapping[str, Any]) -> dict[str, LatencyHistogram]:
    out: dict[str, LatencyHistogram] = {}
    for key, text in (run.get("histograms") or {}).items():
        try:
            out[str(key)] = LatencyHistogram.decode(str(text))
        except ValueError:
            continue  # a damaged stored histogram is a miss, not a crash
    return out


def compare_runs(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    threshold_percent: float,
    noise_floor_ms: float,
    alpha: float = 0.01,
) -> StressComparison:
    """Compare two stress reports (``StressResult.as_dict()`` layouts)."""
    from qhub.profiling.mannwhitney import mann_whitney_u

    base_id = str(baseline.get("run_id", "?"))
    base_plan, cur_plan = baseline.get("plan") or {}, current.get("plan") or {}
    differs = [k for k in _SHAPE if base_plan.get(k) != cur_plan.get(k)]
    if differs:
        shown = ", ".join(f"{k} {base_plan.get(k)} -> {cur_plan.get(k)}" for k in differs)
        return StressComparison(
            base_id, False, f"not comparable: the load differs ({shown})", [], [], 0, []
        )
    before, after = _histograms(baseline), _histograms(current)
    regressions: list[StressChange] = []
    improvements: list[StressChange] = []
    unchanged = 0
    too_few: list[str] = []
    for key in sorted(set(before) & set(after)):
        b, c = before[key], after[key]
        label = "all requests" if key == "all" else key
        if b.count < MIN_SAMPLES or c.count < MIN_SAMPLES:
            too_few.append(label)
            continue
        moves = []
        for stat, q in (("p50", 50.0), ("p95", 95.0)):
            old, new = b.percentile(q), c.percentile(q)
            delta = new - old
            pct = 100.0 * delta / old if old > 0 else 0.0
            if abs(pct) >= threshold_percent and abs(delta) >= noise_floor_ms:
                moves.append((abs(pct), stat, old, new, pct))
        if not moves:
            unchanged += 1
            continue
        _, stat, old, new, pct = max(moves)
        test = mann_whitney_u(_samples(c), _samples(b))
        p_value = test.p_greater if pct > 0 else test.p_less
        if p_value >= alpha:
            unchanged += 1
            continue
        change = StressChange(
            label,
            "slower" if pct > 0 else "faster",
            stat,
            round(old, 3),
            round(new, 3),
            round(pct, 1),
            float(f"{p_value:.3g}"),
            b.count,
            c.count,
        )
        (regressions if pct > 0 else improvements).append(change)
    return StressComparison(
        base_id, True, "same load", regressions, improvements, unchanged, too_few
    )


def compare_with_settings(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    profiling: Any,
    *,
    threshold_percent: float | None = None,
    noise_floor_ms: float | None = None,
) -> StressComparison:
    """:func:`compare_runs` with the thresholds normal runs are judged by
    (``profiling.regression_threshold_percent``, ``noise_floor_ms``, ``alpha``), each
    overridable as ``qhub check --threshold`` / ``--threshold-ms`` override them."""
    return compare_runs(
        baseline,
        current,
        threshold_percent=(
            profiling.regression_threshold_percent
            if threshold_percent is None
            else threshold_percent
        ),
        noise_floor_ms=profiling.noise_floor_ms if noise_floor_ms is None else noise_floor_ms,
        alpha=profiling.alpha,
    )


def change_figures(c: StressChange) -> str:
    """``p50 20 -> 61.2 ms (+206.0%, p=3.2e-11, n=40/40)``: what moved, and on what evidence."""
    return (
        f"{c.stat} {c.baseline_ms:g} -> {c.current_ms:g} ms ({c.change_percent:+.1f}%, "
        f"p={c.p_value:g}, n={c.baseline_count}/{c.current_count})"
    )


def render_comparison(comparison: StressComparison, against: str = "previous stress run") -> str:
    """Lines for the terminal report (``qhub check --stress`` prints the same ones)."""
    if not comparison.comparable:
        return f"vs {against} {comparison.baseline_run}: {comparison.reason}\n"
    lines = [
        f"vs {against} {comparison.baseline_run}: "
        f"{len(comparison.regressions)} slower, {len(comparison.improvements)} faster, "
        f"{comparison.unchanged} unchanged"
    ]
    for c in comparison.regressions + comparison.improvements:
        lines.append(f"  {c.direction.upper():<6} {c.endpoint}: {change_figures(c)}")
    if comparison.too_few_samples:
        lines.append(f"  too few samples to judge: {', '.join(comparison.too_few_samples)}")
    return "\n".join(lines) + "\n"
