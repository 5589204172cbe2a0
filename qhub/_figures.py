"""The figures every subsystem reports, computed one way: percentiles and hit rates.

Percentiles interpolate linearly between the two nearest ranks (numpy's default), so a
p95 in the profiler, the API client's endpoint table and the stress report mean the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_sorted(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of values in ascending order; 0.0 if empty."""
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * (q / 100.0)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def percentile(values: Sequence[float], q: float) -> float:
    """:func:`percentile_sorted` of unsorted ``values`` (sorts a copy)."""
    return percentile_sorted(sorted(values), q) if values else 0.0


def percent(part: float, whole: float) -> float:
    """``part`` as a share of ``whole`` in percent, two decimals; 0.0 when ``whole`` is 0
    (a hit rate with no lookups is 0 %, not undefined)."""
    return round(100.0 * part / whole, 2) if whole else 0.0
