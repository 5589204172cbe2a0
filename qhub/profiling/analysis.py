"""Judging a run: regressions and improvements against a baseline, leaks and budgets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qhub.profiling.baseline import Baseline
from qhub.profiling.memory import detect_leak
from qhub.profiling.regression import RegressionCheck, split

if TYPE_CHECKING:
    from qhub.config import ProfilingSettings

SUGGESTED_BUDGETS = {"step_p95_ms": 100.0, "scenario_ms": 500.0, "rss_growth_mb": 10.0}
"""Starting points from the reference documents' targets (test < 100 ms / 500 ms, < 10 MB)."""


def samples_of(docs: Sequence[dict[str, Any]]) -> Baseline:
    """Samples (ms) per step definition, scenario and method over ``docs`` (runs or workers)."""
    out = Baseline()
    for doc in docs:
        for row in doc.get("step_definitions", []):
            out.step_definitions.setdefault(row["key"], []).extend(row.get("samples_ms", []))
            out.names.setdefault(row["key"], row.get("pattern", row["key"]))
        for row in doc.get("scenarios", []):
            out.scenarios.setdefault(row["key"], []).append(row["duration_ms"])
            out.names.setdefault(row["key"], row.get("name", row["key"]))
        for row in doc.get("methods", []):
            out.methods.setdefault(row["method"], []).extend(row.get("samples_ms", []))
        out.runs.append(str(doc.get("run", {}).get("id", "")))
    return out


def find_regressions(
    current: Baseline, baseline: Baseline, check: RegressionCheck
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(regressions, improvements) as dicts, per step definition, scenario and method."""
    names = {**baseline.names, **current.names}
    changes = [
        *check.compare_all(
            "step_definition", current.step_definitions, baseline.step_definitions, names
        ),
        *check.compare_all("scenario", current.scenarios, baseline.scenarios, names),
        *check.compare_all("method", current.methods, baseline.methods, names),
    ]
    worse, better = split(changes)
    return [c.as_dict() for c in worse], [c.as_dict() for c in better]


def leak_of(doc: dict[str, Any], threshold_mb: float) -> dict[str, Any] | None:
    """RSS trend across the scenarios of one run (``None`` without memory samples)."""
    scenarios = doc.get("scenarios", [])
    if not doc.get("memory", {}).get("enabled") or not scenarios:
        return None
    result = detect_leak(
        [s["rss_end_mb"] for s in scenarios],
        [s["name"] or s["key"] for s in scenarios],
        threshold_mb,
        start_mb=scenarios[0]["rss_start_mb"],
    )
    result["worker"] = doc.get("run", {}).get("worker_id")
    return result


def budget_limits(settings: ProfilingSettings) -> dict[str, float | None]:
    return {
        "step_p95_ms": settings.budget_step_p95_ms,
        "scenario_ms": settings.budget_scenario_ms,
        "rss_growth_mb": settings.budget_rss_growth_mb,
    }


def budget_violations(
    docs: Sequence[dict[str, Any]], limits: dict[str, float | None]
) -> list[dict[str, Any]]:
    """Every step definition, scenario or scenario RSS growth over its configured budget."""
    out: list[dict[str, Any]] = []
    step_limit = limits.get("step_p95_ms")
    scenario_limit = limits.get("scenario_ms")
    rss_limit = limits.get("rss_growth_mb")
    for doc in docs:
        if step_limit is not None:
            out.extend(
                _violation("step_p95_ms", (r["key"], r["pattern"]), r["p95_ms"], step_limit, "ms")
                for r in doc.get("step_definitions", [])
                if r["p95_ms"] > step_limit
            )
        for s in doc.get("scenarios", []):
            if scenario_limit is not None and s["duration_ms"] > scenario_limit:
                out.append(
                    _violation(
                        "scenario_ms", (s["key"], s["name"]), s["duration_ms"], scenario_limit, "ms"
                    )
                )
            if rss_limit is not None and s["rss_delta_mb"] > rss_limit:
                out.append(
                    _violation(
                        "rss_growth_mb", (s["key"], s["name"]), s["rss_delta_mb"], rss_limit, "MB"
                    )
                )
    return sorted(out, key=lambda v: -(v["value"] / v["limit"] if v["limit"] else v["value"]))


def _violation(
    kind: str, row: tuple[str, str], value: float, limit: float, unit: str
) -> dict[str, Any]:
    key, name = row
    return {"budget": kind, "key": key, "name": name, "value": value, "limit": limit, "unit": unit}


def analyse(
    docs: Sequence[dict[str, Any]],
    settings: ProfilingSettings,
    baseline: Baseline | None,
    baseline_source: str | None,
    threshold_percent: float | None = None,
) -> dict[str, Any]:
    """The ``analysis`` section of a report over ``docs`` (one run, or the workers of one)."""
    threshold = (
        settings.regression_threshold_percent if threshold_percent is None else threshold_percent
    )
    check = RegressionCheck(threshold, settings.noise_floor_ms)
    regressions: list[dict[str, Any]] = []
    improvements: list[dict[str, Any]] = []
    if baseline is not None and not baseline.is_empty():
        regressions, improvements = find_regressions(samples_of(docs), baseline, check)
    leaks = [leak for doc in docs if (leak := leak_of(doc, settings.leak_threshold_mb))]
    limits = budget_limits(settings)
    violations = budget_violations(docs, limits)
    return {
        "baseline": {
            "source": baseline_source,
            "runs": baseline.runs if baseline is not None else [],
            "created_at": baseline.created_at if baseline is not None else None,
        }
        if baseline is not None
        else None,
        "thresholds": {
            "threshold_percent": threshold,
            "noise_floor_ms": settings.noise_floor_ms,
            "alpha": check.alpha,
            "test": "mann-whitney-u (one-sided)",
            "leak_threshold_mb": settings.leak_threshold_mb,
        },
        "regressions": regressions,
        "improvements": improvements,
        "leaks": leaks,
        "leak": any(leak["leak"] for leak in leaks),
        "budgets": {
            "configured": any(v is not None for v in limits.values()),
            "limits": limits,
            "suggested": SUGGESTED_BUDGETS,
            "fail_on_budget": settings.fail_on_budget,
            "violations": violations,
        },
    }
