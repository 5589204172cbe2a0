"""A short Markdown report for pull-request comments and CI step summaries.

``qhub check`` appends it to ``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.profiling.render._fmt import (
    KIND_LABELS,
    baseline_label,
    budget_rows,
    budget_verdict,
    by_status,
    counts_line,
    data_line,
    md_cell,
    seconds,
    stats_sets,
)
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report

TOP = 5


def _headline(report: Report) -> str:
    verdict = report.verdict
    violations = len(verdict.budgets.violations)
    if verdict.baseline is None:
        icon, text = "⚪", "no baseline: nothing compared"
    elif verdict.counts.regressions or verdict.leak or violations:
        icon, text = "❌", counts_line(verdict)
    else:
        icon, text = "✅", counts_line(verdict)
    extra = (f", {violations} budget violation(s)" if violations else "") + (
        ", memory leak" if verdict.leak else ""
    )
    return f"### {icon} qhub performance: {md_cell(text, 200)}{extra}"


def render(report: Report, options: RenderOptions) -> str:
    record, verdict = report.record, report.verdict
    run, totals = record.run, record.totals
    pooled = f", pooled over {len(run.pooled_runs)} runs" if run.pooled else ""
    out = [
        _headline(report),
        "",
        f"Run `{md_cell(run.id)}` ({md_cell(run.status)}{pooled}): wall {seconds(run.wall_ms)},"
        f" {totals.scenarios} scenarios ({md_cell(by_status(totals.scenarios_by_status), 80)}),"
        f" {totals.steps} steps"
        + (f", commit `{md_cell(str(run.git_commit)[:10])}`" if run.git_commit else "")
        + (" (uncommitted changes)" if run.git_dirty else "")
        + f"; baseline: {md_cell(baseline_label(verdict), 80)}",
        "",
    ]
    for warning in verdict.warnings:
        out.append(f"> ⚠️ {md_cell(warning, 200)}")
    for note in report.notes:
        out.append(f"> {md_cell(note, 200)}")
    if verdict.warnings or report.notes:
        out.append("")
    changes = (*verdict.regressions, *verdict.improvements)
    if changes:
        out += ["| Change | Baseline ms | Now ms | Method | What |", "|---:|---:|---:|---|---|"]
        out += [
            f"| {'+' if c.verdict == 'regression' else ''}"
            f"{'' if c.change_percent is None else format(c.change_percent, '+.1f') + '%'}"
            f" | {c.baseline_ms or 0:.2f} | {c.current_ms or 0:.2f} | {md_cell(c.method)}"
            f" | {KIND_LABELS.get(c.kind, c.kind)}: {md_cell(c.name)} |"
            for c in changes[:TOP]
        ]
        out.append("")
    if verdict.not_compared:
        shown = ", ".join(
            f"{md_cell(c.name, 40)} ({c.verdict})" for c in verdict.not_compared[:TOP]
        )
        more = len(verdict.not_compared) - TOP
        out += [f"Not compared: {shown}" + (f" and {more} more" if more > 0 else ""), ""]
    failed = [s for s in record.scenarios if s.status in ("failed", "error")]
    if failed:
        out += ["| Failed scenario | Error |", "|---|---|"]
        out += [f"| {md_cell(s.name)} | {md_cell(s.error or '?', 120)} |" for s in failed[:TOP]]
        out.append("")
    violations = verdict.budgets.violations
    if violations:
        out += ["| Budget | Value | Limit | What |", "|---|---:|---:|---|"]
        out += [
            f"| {v.budget} | {v.value:.1f} {v.unit} | {v.limit:.1f} | {md_cell(v.name)} |"
            for v in violations[:TOP]
        ]
        out.append("")
    steps = record.step_definitions[:TOP]
    if steps:
        out += ["**Slowest step definitions**", "", "| Total ms | Calls | p95 ms | Step |",
                "|---:|---:|---:|---|"]  # fmt: skip
        out += [f"| {r.total_ms:.1f} | {r.count} | {r.p95_ms:.2f} | {md_cell(r.pattern)} |"
                for r in steps]  # fmt: skip
        out.append("")
    sets = stats_sets(record)
    line = data_line(sets)
    if line is not None:
        out += [md_cell(line[0].upper() + line[1:], 300), ""]
    budgets = budget_rows(sets)
    if budgets:
        out += ["| API budget | p95 ms | Budget ms | Result |", "|---|---:|---:|---|"]
        out += [
            f"| {md_cell(b['api'])} {md_cell(b['endpoint'])}"
            f" | {'-' if b.get('p95_ms') is None else format(float(b['p95_ms']), '.1f')}"
            f" | {float(b.get('budget_ms') or 0):.1f} | {budget_verdict(b)} |"
            for b in budgets
        ]
        out.append("")
    if options.link:
        out.append(f"Full report: [{md_cell(options.link)}]({options.link.replace(')', '%29')})")
    return "\n".join(out) + "\n"
