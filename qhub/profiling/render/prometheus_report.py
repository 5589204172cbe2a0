"""Prometheus text exposition format (for a node-exporter textfile collector or a push)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qhub.profiling._clean import clean
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report


def _label(value: Any) -> str:
    text = clean(str(value))
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def render(report: Report, options: RenderOptions) -> str:
    record, verdict = report.record, report.verdict
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, rows: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value:.6g}" for labels, value in rows)

    metric("qhub_run_wall_seconds", "gauge", "Wall time of the run from process start.",
           [(_labels(run=record.run.id), record.run.wall_ms / 1000)])  # fmt: skip
    metric(
        "qhub_attribution_seconds",
        "gauge",
        "Run wall time split by where it went.",
        [(_labels(part=p.name), p.ms / 1000) for p in record.attribution.parts],
    )
    rows: list[tuple[str, float]] = []
    for r in record.step_definitions:
        for q, value in (("0.5", r.p50_ms), ("0.95", r.p95_ms)):
            rows.append((_labels(definition=r.key, pattern=r.pattern, quantile=q), value / 1000))
    metric("qhub_step_duration_seconds", "summary", "Step duration per step definition.", rows)
    out.extend(
        f"qhub_step_duration_seconds_sum{_labels(definition=r.key, pattern=r.pattern)}"
        f" {r.total_ms / 1000:.6g}"
        for r in record.step_definitions
    )
    out.extend(
        f"qhub_step_duration_seconds_count{_labels(definition=r.key, pattern=r.pattern)} {r.count}"
        for r in record.step_definitions
    )
    metric(
        "qhub_scenario_duration_seconds",
        "gauge",
        "Scenario duration.",
        [(_labels(scenario=s.key, name=s.name), s.duration_ms / 1000) for s in record.scenarios],
    )
    counts = verdict.counts
    metric("qhub_regressions", "gauge", "Significant slowdowns against the baseline.",
           [("", float(counts.regressions))])  # fmt: skip
    metric("qhub_items_compared", "gauge", "Items compared with the baseline.",
           [("", float(counts.compared))])  # fmt: skip
    metric("qhub_items_not_comparable", "gauge", "Items that could not be compared, by reason.",
           [(_labels(reason=r), float(n)) for r, n in (("new", counts.new), ("gone", counts.gone),
            ("too_few_samples", counts.too_few_samples))])  # fmt: skip
    metric("qhub_baseline_present", "gauge", "1 when a baseline was there to compare against.",
           [("", 0.0 if verdict.baseline is None else 1.0)])  # fmt: skip
    metric("qhub_budget_violations", "gauge", "Performance budget violations.",
           [("", float(len(verdict.budgets.violations)))])  # fmt: skip
    metric("qhub_memory_leak", "gauge", "1 when RSS grows significantly across scenarios.",
           [("", 1.0 if verdict.leak else 0.0)])  # fmt: skip
    if record.memory.peak_mb:
        metric("qhub_rss_peak_bytes", "gauge", "Peak resident memory sampled during the run.",
               [("", record.memory.peak_mb * 1024 * 1024)])  # fmt: skip
    return "\n".join(out) + "\n"
