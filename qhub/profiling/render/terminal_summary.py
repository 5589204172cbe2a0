"""The end-of-run terminal summary: short by default, full tables when verbose.

About a dozen lines a reader can take in at the end of a CI log: the run and behave's own
counts, where the wall time went, the slowest step definitions, the regression verdict
with what was and was not compared, warnings, cache and pool figures, and where the report
is. ``report.verbose`` appends the full text report. Every name from the suite is shown
through :func:`~qhub.profiling.render._fmt.short` (bidi and control characters visible).

:func:`render_summary` returns the text; whoever prints it chooses the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qhub.profiling.render._fmt import (
    baseline_label,
    by_status,
    cache_line,
    comparison_line,
    counts_line,
    data_line,
    duration_ms,
    plural,
    pool_lines,
    short,
    stats_sets,
)
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.config import ReportSettings
    from qhub.profiling.reporting import Report

SLOWEST = 3
SHORT_LABELS = {
    "startup": "start-up",
    "load_hooks": "environment.py",
    "step_modules": "step modules",
    "parse_features": "parsing",
    "step_bodies": "step bodies",
    "behave_other": "behave",
}
REGRESSIONS_SHOWN = 3
_QHUB_PARTS = ("qhub_setup", "qhub_first_use", "qhub_overhead", "qhub_report_code")


def _time_line(report: Report) -> str:
    attribution = report.record.attribution
    wall = attribution.wall_ms or 1.0
    parts = sorted(
        (p for p in attribution.parts if p.name not in _QHUB_PARTS and p.ms > 0),
        key=lambda p: -p.ms,
    )[:4]
    qhub = sum(p.ms for p in attribution.parts if p.name in _QHUB_PARTS)
    shown = [f"{_short_label(p.name)} {duration_ms(p.ms)} ({p.ms / wall:.0%})" for p in parts]
    shown.append(f"qhub {duration_ms(qhub)} ({qhub / wall:.0%})")
    return "  time: " + " · ".join(shown)


def _short_label(name: str) -> str:
    if name.startswith("hook:"):
        return name[5:] + " hooks"
    return SHORT_LABELS.get(name, name)


def render_summary(report: Report, options: RenderOptions) -> str:
    """The summary text (ends with a newline)."""
    record, verdict = report.record, report.verdict
    run, totals = record.run, record.totals
    out: list[str] = []
    pooled = f", pooled over {plural(len(run.pooled_runs), 'run')}" if run.pooled else ""
    workers = f", {plural(run.workers, 'worker')}" if run.workers > 1 and not run.pooled else ""
    scenarios = by_status(totals.scenarios_by_status)
    steps = f"{plural(totals.steps, 'step')}" + (
        f" (+{totals.sub_steps} via execute_steps)" if totals.sub_steps else ""
    )
    out.append(
        f"qhub: run {short(run.id, 60)} {run.status}{workers}{pooled} · "
        f"{plural(totals.scenarios, 'scenario')}"
        + (f" ({scenarios})" if scenarios else "")
        + f" · {steps} · wall {duration_ms(run.wall_ms)}"
    )
    out.append(_time_line(report))
    slowest = record.step_definitions[:SLOWEST]
    if slowest:
        out.append("  slowest step definitions (total time):")
        width = max(len(short(r.pattern, 44)) for r in slowest)
        for r in slowest:
            out.append(
                f"    {duration_ms(r.total_ms):>10} {r.count:>6}x  {short(r.pattern, 44):<{width}}"
                f"  {short(r.location, 50)}"
            )
    out.append(f"  regressions: {counts_line(verdict)}" + (
        f" · vs {baseline_label(verdict)}" if verdict.baseline is not None else ""
    ))  # fmt: skip
    for c in verdict.regressions[:REGRESSIONS_SHOWN]:
        out.append(f"    {comparison_line(c, 40)}")
    if len(verdict.regressions) > REGRESSIONS_SHOWN:
        out.append(f"    ... and {len(verdict.regressions) - REGRESSIONS_SHOWN} more in the report")
    for warning in verdict.warnings:
        out.append(f"  warning: {short(warning, 140)}")
    for note in report.notes:
        out.append(f"  note: {short(note, 140)}")
    if verdict.leak:
        worst = max(
            (leak for leak in verdict.leaks if leak.leak), key=lambda x: x.projected_growth_mb
        )
        out.append(
            f"  memory: LEAK, RSS {worst.slope_mb_per_item:+.2f} MB per scenario"
            f" (projected {worst.projected_growth_mb:+.1f} MB)"
        )
    violations = verdict.budgets.violations
    if verdict.budgets.configured and violations:
        out.append(f"  budgets: {plural(len(violations), 'violation')} (see the report)")
    sets = stats_sets(record)
    figures = [line for line in (cache_line(sets), data_line(sets)) if line] + pool_lines(sets)
    if figures:
        out.append("  " + " · ".join(figures[:3]))
    out.extend(_paths(options.written))
    text = "\n".join(out) + "\n"
    if options.verbose:
        from qhub.profiling.render.text_report import render as render_text

        text += render_text(report, options)
    return text


def _paths(written: Sequence[Path]) -> list[str]:
    html = [p for p in written if p.suffix == ".html"]
    others = [p for p in written if p.suffix != ".html"]
    out = []
    if others:
        out.append("  reports: " + ", ".join(str(p) for p in others))
    out.extend(f"qhub: HTML report: {p}" for p in html)
    return out


def summary_options(settings: ReportSettings, written: Sequence[Path] = ()) -> RenderOptions:
    """Render options for the end-of-run summary from the ``report`` settings."""
    return RenderOptions(top=settings.top, verbose=settings.verbose, written=tuple(written))
