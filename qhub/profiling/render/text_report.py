"""The full text report (``qhub report --format text``, ``report.verbose``): every table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.profiling.render._fmt import (
    KIND_LABELS,
    baseline_label,
    budget_lines,
    by_status,
    cache_line,
    comparison_line,
    counts_line,
    data_line,
    plural,
    pool_lines,
    seconds,
    short,
    stats_sets,
)
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report


def render(report: Report, options: RenderOptions) -> str:
    record, verdict, top = report.record, report.verdict, options.top
    run, totals, attribution = record.run, record.totals, record.attribution
    out: list[str] = []
    add = out.append
    label = (
        f"pooled over {plural(len(run.pooled_runs), 'run')}"
        if run.pooled
        else (f"{plural(run.workers, 'worker')}" if run.workers > 1 else "")
    )
    add(
        f"qhub profile: run {short(run.id, 80)} ({run.status}{', ' + label if label else ''}),"
        f" wall {seconds(run.wall_ms)}"
    )
    add(
        f"  features: {totals.features} ({by_status(totals.features_by_status)});"
        f" scenarios: {totals.scenarios} ({by_status(totals.scenarios_by_status)});"
        f" steps: {totals.steps} ({by_status(totals.steps_by_status)})"
        + (f"; {totals.sub_steps} more via execute_steps" if totals.sub_steps else "")
    )
    add(f"Where the time went (from {attribution.measured_from}):")
    for part in attribution.parts:
        if part.ms > 0 or part.name in ("step_bodies", "qhub_overhead"):
            add(f"  {short(part.label, 46):<46} {part.ms / 1000:>9.3f} s {part.percent:>6.1f}%")
    steps = record.step_definitions
    header = f"  {'total ms':>10} {'calls':>6} {'mean ms':>9} {'p95 ms':>9}  step definition"
    for title, ordered in (
        ("by total", steps[:top]),
        ("by mean", sorted(steps, key=lambda r: -r.mean_ms)[:top]),
    ):
        if ordered:
            add(f"Slowest step definitions {title}:")
            add(header)
            for r in ordered:
                nested = f", {r.nested_calls} via execute_steps" if r.nested_calls else ""
                add(
                    f"  {r.total_ms:>10.1f} {r.count:>6} {r.mean_ms:>9.2f} "
                    f"{r.p95_ms:>9.2f}  {short(r.pattern, 50)} ({short(r.location, 60)}{nested})"
                )
    scenarios = sorted(record.scenarios, key=lambda s: -s.duration_ms)[:top]
    if scenarios:
        add("Slowest scenarios:")
        for s in scenarios:
            add(f"  {s.duration_ms:>10.1f} ms  {short(s.name, 50)} ({short(s.location, 60)})")
    failed = [s for s in record.scenarios if s.status in ("failed", "error")]
    if failed:
        add("Failed scenarios:")
        for s in failed[:top]:
            add(f"  {short(s.name, 50)} ({short(s.location, 60)}): {short(s.error or '?', 100)}")
    if record.hooks:
        add("Hooks:")
        for h in record.hooks:
            fails = f", {h.failed} failed" if h.failed else ""
            add(f"  {h.total_ms:>10.1f} ms  {h.hook} x{h.count} (max {h.max_ms:.1f} ms{fails})")
    if record.step_modules:
        total = sum(m.ms for m in record.step_modules)
        add(f"Step modules: {len(record.step_modules)} loaded in {total:.1f} ms")
        for m in sorted(record.step_modules, key=lambda m: -m.ms)[:3]:
            add(f"  {m.ms:>10.1f} ms  {short(m.path, 80)}")
    sets = stats_sets(record)
    out.extend(line for line in (cache_line(sets), data_line(sets)) if line)
    out.extend(pool_lines(sets))
    out.extend(budget_lines(sets))
    add(f"Regressions vs {baseline_label(verdict)}: {counts_line(verdict)}")
    if verdict.baseline is not None:
        add(f"  rule: {verdict.rule}")
    for c in (*verdict.regressions, *verdict.improvements)[: 2 * top]:
        add(f"  {comparison_line(c)}")
    not_compared = verdict.not_compared
    if not_compared:
        add("Not compared:")
        for c in not_compared[:top]:
            add(f"  {c.verdict:<15} {KIND_LABELS.get(c.kind, c.kind)}: {short(c.name, 50)}"
                f" ({short(c.location, 60)})")  # fmt: skip
    for warning in verdict.warnings:
        add(f"Warning: {short(warning, 160)}")
    for note in report.notes:
        add(f"Note: {short(note, 160)}")
    for leak in verdict.leaks:
        state = "LEAK" if leak.leak else "no leak"
        where = ", ".join(f"{short(g.name, 30)} +{g.growth_mb:.1f} MB" for g in leak.top_growth[:3])
        add(
            f"Memory{' (' + short(leak.worker, 30) + ')' if leak.worker else ''}: {state}:"
            f" RSS slope {leak.slope_mb_per_item:+.3f} MB/scenario, projected"
            f" {leak.projected_growth_mb:+.1f} MB (threshold {leak.threshold_mb:g} MB)"
            + (f"; growth in {where}" if where and leak.leak else "")
        )
    budgets = verdict.budgets
    if budgets.configured:
        add(f"Budgets: {plural(len(budgets.violations), 'violation')}")
        for v in budgets.violations[:top]:
            add(f"  {v.budget}: {v.value:.1f} {v.unit} > {v.limit:.1f} {v.unit}  "
                f"{short(v.name, 50)} ({short(v.location or v.key, 60)})")  # fmt: skip
    return "\n".join(out) + "\n"
