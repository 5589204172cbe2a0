"""Mann-Whitney U test, written out so qhub needs no scipy.

Why this test: step timings are skewed (a long right tail from GC pauses, I/O and a busy
CI machine) and rarely normal, so a t-test on means is misled by one outlier. Mann-Whitney
compares the two samples' ranks only: it asks "is a random current timing larger than a
random baseline timing more often than chance allows?", which is what a slowdown is.

For small samples without ties the exact distribution of U is counted (so three samples
against three can never reach significance, as it should be); otherwise the normal
approximation with tie correction and continuity correction is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from qhub._record import frozen_record

EXACT_MAX_N = 20
"""Both samples at most this large and no ties: the exact distribution is used."""


@frozen_record(slots=False)
class MannWhitneyResult:
    """U statistic of the *current* sample and one-sided p-values."""

    u: float
    p_greater: float
    """P-value for "current tends to be larger (slower) than baseline"."""
    p_less: float
    """P-value for "current tends to be smaller (faster) than baseline"."""
    method: str
    """``exact`` or ``normal``."""


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) of ``values`` and the sizes of tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        avg = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = avg
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


@lru_cache(maxsize=256)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """Number of orderings giving each U value 0..n1*n2 (no ties)."""
    # counts[a][b] for the current n1 handled row by row: f(a, b, u) = f(a-1, b, u-b) + f(a, b-1, u)
    prev = [[1] for _ in range(n2 + 1)]  # a = 0: only U = 0
    for a in range(1, n1 + 1):
        cur: list[list[int]] = [[1]]  # b = 0: only U = 0
        for b in range(1, n2 + 1):
            size = a * b + 1
            row = [0] * size
            for u, c in enumerate(prev[b]):  # f(a-1, b, u - b)
                row[u + b] += c
            for u, c in enumerate(cur[b - 1]):  # f(a, b-1, u)
                row[u] += c
            cur.append(row)
        prev = cur
    return tuple(prev[n2])


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(current: Sequence[float], baseline: Sequence[float]) -> MannWhitneyResult:
    """Compare ``current`` against ``baseline``; both need at least one value."""
    n1, n2 = len(current), len(baseline)
    if n1 == 0 or n2 == 0:
        return MannWhitneyResult(0.0, 1.0, 1.0, "none")
    ranks, ties = _ranks([*current, *baseline])
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2.0
    if not ties and n1 <= EXACT_MAX_N and n2 <= EXACT_MAX_N:
        counts = _u_counts(n1, n2)
        total = sum(counts)
        k = round(u)
        p_greater = sum(counts[k:]) / total
        p_less = sum(counts[: k + 1]) / total
        return MannWhitneyResult(u, min(1.0, p_greater), min(1.0, p_less), "exact")
    n = n1 + n2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    mean = n1 * n2 / 2.0
    if var <= 0:  # every value equal: no evidence either way
        return MannWhitneyResult(u, 1.0, 1.0, "normal")
    sd = math.sqrt(var)
    p_greater = _normal_sf((u - mean - 0.5) / sd)
    p_less = _normal_sf((mean - u - 0.5) / sd)
    return MannWhitneyResult(u, p_greater, p_less, "normal")
