"""Prometheus text exposition format (for a node-exporter textfile collector or a push)."""

from __future__ import annotations

from typing import Any


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def render(report: dict[str, Any]) -> str:
    run = report["run"]
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, rows: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value:.6g}" for labels, value in rows)

    metric(
        "qhub_run_wall_seconds",
        "gauge",
        "Wall time of the run from process start.",
        [(_labels(run=run["id"]), run["wall_ms"] / 1000)],
    )
    metric(
        "qhub_attribution_seconds",
        "gauge",
        "Run wall time split by where it went.",
        [(_labels(part=p["name"]), p["ms"] / 1000) for p in report["attribution"]["parts"]],
    )
    rows: list[tuple[str, float]] = []
    for r in report["step_definitions"]:
        for q, field in (("0.5", "p50_ms"), ("0.95", "p95_ms")):
            rows.append(
                (_labels(definition=r["key"], pattern=r["pattern"], quantile=q), r[field] / 1000)
            )
    metric("qhub_step_duration_seconds", "summary", "Step duration per step definition.", rows)
    out.extend(
        f"qhub_step_duration_seconds_sum{_labels(definition=r['key'], pattern=r['pattern'])}"
        f" {r['total_ms'] / 1000:.6g}"
        for r in report["step_definitions"]
    )
    out.extend(
        f"qhub_step_duration_seconds_count{_labels(definition=r['key'], pattern=r['pattern'])}"
        f" {r['count']}"
        for r in report["step_definitions"]
    )
    metric(
        "qhub_scenario_duration_seconds",
        "gauge",
        "Scenario duration.",
        [
            (_labels(scenario=s["key"], name=s["name"]), s["duration_ms"] / 1000)
            for s in report["scenarios"]
        ],
    )
    analysis = report.get("analysis") or {}
    metric(
        "qhub_regressions",
        "gauge",
        "Significant slowdowns against the baseline.",
        [("", float(len(analysis.get("regressions", []))))],
    )
    metric(
        "qhub_budget_violations",
        "gauge",
        "Performance budget violations.",
        [("", float(len((analysis.get("budgets") or {}).get("violations", []))))],
    )
    metric(
        "qhub_memory_leak",
        "gauge",
        "1 when RSS grows significantly across scenarios.",
        [("", 1.0 if analysis.get("leak") else 0.0)],
    )
    peak = report.get("memory", {}).get("peak_mb")
    if peak:
        metric(
            "qhub_rss_peak_bytes",
            "gauge",
            "Peak resident memory sampled during the run.",
            [("", peak * 1024 * 1024)],
        )
    return "\n".join(out) + "\n"
