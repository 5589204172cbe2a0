"""Regression and improvement detection between a current run and a baseline.

A change is reported only when all three hold:

* the median moved by more than ``threshold_percent``;
* the median moved by more than ``noise_floor_ms`` in absolute terms, so a 50 µs step that
  takes 65 µs does not flap;
* a one-sided Mann-Whitney U test finds the shift significant at ``alpha`` given the
  samples available (see :mod:`qhub.profiling.mannwhitney` for why this test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from qhub.profiling.mannwhitney import mann_whitney_u
from qhub.profiling.stats import median

DEFAULT_ALPHA = 0.01
"""Significance level: 1 % keeps a suite of hundreds of step definitions from crying wolf."""


@dataclass(frozen=True)
class Change:
    """One significant slowdown or speed-up of a step definition, scenario or block."""

    kind: str
    """``step_definition``, ``scenario`` or ``method``."""
    key: str
    name: str
    direction: str
    """``regression`` or ``improvement``."""
    baseline_median_ms: float
    current_median_ms: float
    change_percent: float
    delta_ms: float
    p_value: float
    baseline_samples: int
    current_samples: int
    test: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RegressionCheck:
    """The thresholds one comparison uses."""

    threshold_percent: float = 20.0
    noise_floor_ms: float = 2.0
    alpha: float = DEFAULT_ALPHA

    def compare(
        self,
        kind: str,
        key: str,
        name: str,
        current_ms: Sequence[float],
        baseline_ms: Sequence[float],
    ) -> Change | None:
        """The significant change of one item, or ``None``."""
        if not current_ms or not baseline_ms:
            return None
        base_med, cur_med = median(baseline_ms), median(current_ms)
        delta = cur_med - base_med
        if abs(delta) <= self.noise_floor_ms:
            return None
        percent = (delta / base_med * 100.0) if base_med > 0 else float("inf")
        if abs(percent) <= self.threshold_percent:
            return None
        result = mann_whitney_u(current_ms, baseline_ms)
        direction = "regression" if delta > 0 else "improvement"
        p = result.p_greater if delta > 0 else result.p_less
        if p >= self.alpha:
            return None
        return Change(
            kind=kind,
            key=key,
            name=name,
            direction=direction,
            baseline_median_ms=round(base_med, 3),
            current_median_ms=round(cur_med, 3),
            change_percent=round(percent, 1) if percent != float("inf") else 1e9,
            delta_ms=round(delta, 3),
            p_value=float(f"{p:.3g}"),
            baseline_samples=len(baseline_ms),
            current_samples=len(current_ms),
            test=f"mann-whitney-u ({result.method})",
        )

    def compare_all(
        self,
        kind: str,
        current: Mapping[str, Sequence[float]],
        baseline: Mapping[str, Sequence[float]],
        names: Mapping[str, str] | None = None,
    ) -> list[Change]:
        """Changes of every key present on both sides, largest slowdown first."""
        names = names or {}
        found = [
            change
            for key in sorted(current.keys() & baseline.keys())
            if (change := self.compare(kind, key, names.get(key, key), current[key], baseline[key]))
        ]
        return sorted(found, key=lambda c: -c.change_percent)


def split(changes: Sequence[Change]) -> tuple[list[Change], list[Change]]:
    """(regressions, improvements)."""
    return (
        [c for c in changes if c.direction == "regression"],
        [c for c in changes if c.direction == "improvement"],
    )
