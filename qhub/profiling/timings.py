"""Timing samples and the summary figures computed from them.

Samples are kept in nanoseconds (integers from ``perf_counter_ns``); figures are reported
in milliseconds. Percentiles come from :mod:`qhub._figures` (linear interpolation between
closest ranks, ``numpy.percentile``'s default), the one definition every subsystem uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qhub._figures import percentile, percentile_sorted

NS_PER_MS = 1_000_000


def median(values: Sequence[float]) -> float:
    """The 50th percentile of ``values``."""
    return percentile(values, 50.0)


@dataclass
class TimingStats:
    """Durations of one thing (a step definition, a block, a scenario) in nanoseconds."""

    samples: list[int] = field(default_factory=list)

    def add(self, duration_ns: int) -> None:
        """Record one duration."""
        self.samples.append(duration_ns)

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def total_ms(self) -> float:
        return sum(self.samples) / NS_PER_MS

    @property
    def mean_ms(self) -> float:
        return self.total_ms / len(self.samples) if self.samples else 0.0

    @property
    def min_ms(self) -> float:
        return min(self.samples) / NS_PER_MS if self.samples else 0.0

    @property
    def max_ms(self) -> float:
        return max(self.samples) / NS_PER_MS if self.samples else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(self.samples, q) / NS_PER_MS

    def as_dict(self) -> dict[str, Any]:
        """Count, total, mean, min, p50, p95 and max (all times in ms, rounded to µs)."""
        ordered = sorted(self.samples)
        return {
            "count": self.count,
            "total_ms": _r(self.total_ms),
            "mean_ms": _r(self.mean_ms),
            "min_ms": _r(ordered[0] / NS_PER_MS if ordered else 0.0),
            "p50_ms": _r(percentile_sorted(ordered, 50) / NS_PER_MS),
            "p95_ms": _r(percentile_sorted(ordered, 95) / NS_PER_MS),
            "max_ms": _r(ordered[-1] / NS_PER_MS if ordered else 0.0),
        }


def _r(value: float) -> float:
    return round(value, 3)
