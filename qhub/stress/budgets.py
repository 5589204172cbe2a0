"""The gate: a stress run's figures against the ``stress.budget_*`` settings.

All budgets are off by default. A budget that cannot be evaluated because nothing was
measured (no request at all, or none to a budgeted endpoint) fails: a gate that passes on no
data would let a broken run through. A budget on a route without a method
(``"p99 /pets"``) is read from the merged histogram of every method of that route (counts
add; percentiles are never averaged).
"""

from __future__ import annotations

from typing import Any

from qhub.stress.histogram import LatencyHistogram
from qhub.stress.result import BudgetCheck, StressResult

_PERCENTILE = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}


def _stat(hist: LatencyHistogram, stat: str) -> float:
    return hist.max() if stat == "max" else hist.percentile(_PERCENTILE[stat])


def _endpoint_histogram(result: StressResult, endpoint: str) -> LatencyHistogram | None:
    method, _, route = endpoint.partition(" ")
    if route.startswith("/") and method.isupper():
        return result.histogram(endpoint)
    merged: LatencyHistogram | None = None
    for key in result.histograms:
        if key != "all" and key.partition(" ")[2] == endpoint:
            hist = result.histogram(key)
            if hist is None:
                continue
            if merged is None:
                merged = hist
            else:
                merged.merge(hist)
    return merged


def check_budgets(result: StressResult, settings: Any) -> list[BudgetCheck]:
    """Every configured budget, passed or not."""
    checks: list[BudgetCheck] = []
    everything = result.histogram("all")
    for stat in ("p50", "p95", "p99"):
        limit = getattr(settings, f"budget_{stat}_ms")
        if limit is None:
            continue
        actual = _stat(everything, stat) if everything is not None and everything.count else None
        checks.append(_latency(f"{stat} of all requests", float(limit), actual))
    for key, limit in sorted(settings.budget_endpoints_ms.items()):
        stat, _, endpoint = key.strip().partition(" ")
        endpoint = endpoint.strip()
        hist = _endpoint_histogram(result, endpoint)
        actual = _stat(hist, stat) if hist is not None and hist.count else None
        checks.append(_latency(f"{stat} of {endpoint}", float(limit), actual))
    requests = result.requests
    if settings.budget_min_rps is not None:
        rps = requests.count / result.elapsed_s if result.elapsed_s > 0 else 0.0
        checks.append(
            BudgetCheck(
                "completed requests per second",
                float(settings.budget_min_rps),
                round(rps, 3),
                "/s",
                rps >= settings.budget_min_rps,
                "at least",
            )
        )
    if settings.budget_error_rate_percent is not None:
        rate = requests.error_percent if requests.count else None
        checks.append(
            BudgetCheck(
                "failed requests",
                float(settings.budget_error_rate_percent),
                None if rate is None else round(rate, 3),
                "%",
                rate is not None and rate <= settings.budget_error_rate_percent,
                "" if rate is not None else "no request was made",
            )
        )
    if settings.budget_failed_scenarios_percent is not None:
        run = result.scenarios_run
        rate = 100.0 * result.scenarios_failed / run if run else None
        checks.append(
            BudgetCheck(
                "failed scenarios",
                float(settings.budget_failed_scenarios_percent),
                None if rate is None else round(rate, 3),
                "%",
                rate is not None and rate <= settings.budget_failed_scenarios_percent,
                "" if rate is not None else "no scenario finished",
            )
        )
    return checks


def _latency(name: str, limit: float, actual: float | None) -> BudgetCheck:
    if actual is None:
        return BudgetCheck(name, limit, None, "ms", False, "no request was measured")
    return BudgetCheck(name, limit, round(actual, 3), "ms", actual <= limit)
