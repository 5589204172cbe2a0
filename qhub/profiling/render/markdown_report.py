"""A short Markdown report for pull-request comments and CI step summaries."""

from __future__ import annotations

from typing import Any

from qhub.profiling.render._fmt import (
    budget_rows,
    budget_verdict,
    data_line,
    seconds,
    short,
    stats_sets,
)

TOP = 5


def _cell(text: Any) -> str:
    """Table-cell text: pipes, backticks and angle brackets neutralised."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")
        .replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    )  # fmt: skip


def render(report: dict[str, Any], html_link: str | None = "qhub-report.html") -> str:
    run, totals = report["run"], report["totals"]
    analysis = report.get("analysis") or {}
    regressions = analysis.get("regressions", [])
    violations = (analysis.get("budgets") or {}).get("violations", [])
    leak = analysis.get("leak", False)
    icon = "❌" if regressions or leak or violations else "✅"
    out = [
        f"### {icon} qhub performance: {len(regressions)} regression(s), "
        f"{len(violations)} budget violation(s){', memory leak' if leak else ''}",
        "",
        f"Run `{_cell(run['id'])}` ({_cell(run.get('status', '?'))}): "
        f"wall {seconds(run['wall_ms'])}, "
        f"{totals['scenarios']} scenarios, {totals['steps']} steps"
        + (f", commit `{_cell(str(run['git_commit'])[:10])}`" if run.get("git_commit") else ""),
        "",
    ]
    if analysis.get("baseline") is None:
        out += ["_No baseline pinned: `qhub baseline set`._", ""]
    if regressions:
        out += ["| Change | Baseline ms | Now ms | p | What |", "|---:|---:|---:|---:|---|"]
        out += [
            f"| {c['change_percent']:+.1f}% | {c['baseline_median_ms']:.2f}"
            f" | {c['current_median_ms']:.2f}"
            f" | {c['p_value']:.2g} | {c['kind']}: {_cell(short(c['name']))} |"
            for c in regressions[:TOP]
        ]
        out.append("")
    improvements = analysis.get("improvements", [])
    if improvements:
        out += [
            f"Improvements: {len(improvements)}"
            f" (largest {improvements[-1]['change_percent']:+.1f}%)",
            "",
        ]
    if violations:
        out += ["| Budget | Value | Limit | What |", "|---|---:|---:|---|"]
        out += [
            f"| {v['budget']} | {v['value']:.1f} {v['unit']} | {v['limit']:.1f}"
            f" | {_cell(short(v['name']))} |"
            for v in violations[:TOP]
        ]
        out.append("")
    steps = report["step_definitions"][:TOP]
    if steps:
        out += [
            "**Slowest step definitions**",
            "",
            "| Total ms | Calls | p95 ms | Step |",
            "|---:|---:|---:|---|",
        ]
        out += [
            f"| {r['total_ms']:.1f} | {r['count']} | {r['p95_ms']:.2f}"
            f" | {_cell(short(r['pattern']))} |"
            for r in steps
        ]
        out.append("")
    sets = stats_sets(report)
    line = data_line(sets)
    if line is not None:
        out += [_cell(line[0].upper() + line[1:]), ""]
    budgets = budget_rows(sets)
    if budgets:
        out += ["| API budget | p95 ms | Budget ms | Result |", "|---|---:|---:|---|"]
        out += [
            f"| {_cell(b['api'])} {_cell(short(str(b['endpoint'])))}"
            f" | {'-' if b.get('p95_ms') is None else format(float(b['p95_ms']), '.1f')}"
            f" | {float(b.get('budget_ms') or 0):.1f} | {budget_verdict(b)} |"
            for b in budgets
        ]
        out.append("")
    if html_link:
        out.append(f"Full report: [{_cell(html_link)}]({html_link})")
    return "\n".join(out) + "\n"
