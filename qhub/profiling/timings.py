"""Timing samples and the summary figures computed from them.

Samples are kept in nanoseconds (integers from ``perf_counter_ns``); figures are reported
in milliseconds. Percentiles use linear interpolation between closest ranks (the same
method as ``numpy.percentile``'s default), so small sample sets give stable numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

NS_PER_MS = 1_000_000


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` by linear interpolation; 0.0 if empty."""
    if not values:
        return 0.0
    return percentile_sorted(sorted(values), q)


def percentile_sorted(ordered: Sequence[float], q: float) -> float:
    """:func:`percentile` of values already in ascending order (no copy, no sort)."""
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * (q / 100.0)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    frac = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * frac)


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
