"""The HTML report: one self-contained file (inline CSS and JS, no network), opens offline.

Tables are built by :mod:`qhub.profiling.render._html` with every value escaped; each
carries its sort keys in ``data-v`` attributes, and the page's script makes every table
sortable (click a column header) and filterable (the box above it searches every cell,
step texts included); the stress section is built by
:mod:`~qhub.profiling.render.html_stress`. Charts are drawn in the browser as SVG from a
JSON island (``<script type="application/json">`` with ``</`` escaped) using ``textContent`` only:
hand-made SVG keeps the file small and the page free of third-party code, which a strict
Content-Security-Policy with a per-file nonce then enforces (no script or style but
qhub's own).
"""

from __future__ import annotations

import functools
import json
import secrets
from importlib import resources
from typing import TYPE_CHECKING, Any

from qhub._figures import percentile_sorted
from qhub.profiling._clean import clean_line
from qhub.profiling.render._fmt import (
    KIND_LABELS,
    baseline_label,
    budget_rows,
    budget_verdict,
    by_status,
    counts_line,
    data_line,
    duration_ms,
    plural,
    short,
    stats_sets,
)
from qhub.profiling.render._html import Cell
from qhub.profiling.render._html import esc as _e
from qhub.profiling.render._html import sortable_table as _table
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report

TOP_BARS = 15
TOP_DISTRIBUTIONS = 8
MAX_DOTS = 300
MAX_MEMORY_SERIES = 12


@functools.cache
def _asset(name: str) -> str:
    """A file of ``render/assets`` (package data): page template, CSS or JS."""
    return (resources.files("qhub.profiling.render") / "assets" / name).read_text("utf-8")


def _json_island(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


# -- chart data --------------------------------------------------------------------------------


def _label(text: str, width: int = 48) -> str:
    return short(text, width)


def chart_data(report: Report) -> dict[str, Any]:
    """The subset of the report the charts need (every label already made safe)."""
    record = report.record
    steps = record.step_definitions
    distributions = []
    for row in steps[:TOP_DISTRIBUTIONS]:
        samples = sorted(row.samples_ms)
        if not samples:
            continue
        stride = max(1, len(samples) // MAX_DOTS)
        distributions.append(
            {
                "label": _label(row.pattern),
                "q": [samples[0], percentile_sorted(samples, 25), percentile_sorted(samples, 50),
                      percentile_sorted(samples, 75), percentile_sorted(samples, 95),
                      samples[-1]],
                "dots": samples[::stride],
            }
        )  # fmt: skip
    memory = record.memory
    series = dict(memory.series_by_worker) or ({"this run": memory.series} if memory.series else {})
    trend = [
        {
            "when": (t.finished_at or "")[:16].replace("T", " "),
            "commit": (t.git_commit or "")[:7],
            "wall": (t.wall_ms or 0) / 1000,
            "steps": (t.step_ms or 0) / 1000,
            "baseline": t.baseline,
            "current": t.current,
            "status": t.status or "",
            "id": clean_line(t.run_id),
        }
        for t in report.trend
    ]
    return {
        "attribution": [
            {"label": _label(p.label), "ms": p.ms} for p in record.attribution.parts if p.ms > 0
        ],
        "bars": [
            {"label": _label(r.pattern), "ms": r.total_ms, "count": r.count}
            for r in steps[:TOP_BARS]
        ],
        "distributions": distributions,
        "trend": trend,
        "items": [
            {"key": clean_line(i.key), "label": _label(i.name, 80), "values": list(i.values)}
            for i in report.item_trends
        ],
        "memory": {clean_line(k): v for k, v in list(series.items())[:MAX_MEMORY_SERIES]},
        "memory_more": max(0, len(series) - MAX_MEMORY_SERIES),
    }


# -- tables ------------------------------------------------------------------------------------


def _steps_table(report: Report) -> str:
    rows = []
    for r in report.record.step_definitions:
        texts = "".join(
            f"<li><code>{_e(t.text)}</code> &times;{t.count}, {t.total_ms:.2f} ms total,"
            f" max {t.max_ms:.2f} ms</li>"
            for t in r.texts[:50]
        )
        status = ", ".join(f"{_e(k)} {v}" for k, v in sorted(r.statuses.items()))
        nested = f" &middot; {r.nested_calls} via execute_steps" if r.nested_calls else ""
        cell = Cell(
            f"<details><summary>{_e(r.pattern)}</summary><div class='loc'>{_e(r.location)}"
            f" &middot; {_e(r.step_type)} &middot; {status}{nested}</div>"
            f"<ul>{texts}</ul></details>",
            clean_line(r.pattern).lower(),
        )
        rows.append([cell, Cell.num(r.count, "{:.0f}"), Cell.num(r.total_ms),
                     Cell.num(r.mean_ms, "{:.3f}"), Cell.num(r.p50_ms, "{:.3f}"),
                     Cell.num(r.p95_ms, "{:.3f}"), Cell.num(r.max_ms, "{:.3f}"),
                     Cell.num(r.rss_delta_mb, "{:+.2f}")])  # fmt: skip
    return _table(
        "t-steps",
        [("Step definition", "text"), ("Calls", "num"), ("Total ms", "num"), ("Mean ms", "num"),
         ("p50 ms", "num"), ("p95 ms", "num"), ("Max ms", "num"), ("RSS Δ MB", "num")],
        rows, filter_label="Filter step definitions and step texts…",
    )  # fmt: skip


def _scenarios_table(report: Report) -> str:
    rows = []
    for s in sorted(report.record.scenarios, key=lambda s: -s.duration_ms):
        status = f"<span class='st {_e(s.status)}'>{_e(s.status)}</span>"
        error = f"<div class='err'>{_e(s.error)}</div>" if s.error else ""
        rows.append([
            Cell(f"{_e(s.name)}{error}", clean_line(s.name).lower()),
            Cell(f"<span class='loc'>{_e(s.location)}</span>", s.location),
            Cell(status, s.status), Cell.num(s.duration_ms), Cell.num(s.hooks_ms),
            Cell.num(s.rss_delta_mb, "{:+.2f}"),
            Cell.text(s.worker or ""),
        ])  # fmt: skip
    return _table(
        "t-scenarios",
        [("Scenario", "text"), ("Location", "text"), ("Status", "text"), ("ms", "num"),
         ("Hooks ms", "num"), ("RSS Δ MB", "num"), ("Worker", "text")],
        rows, filter_label="Filter scenarios…",
    )  # fmt: skip


def _failed(report: Report) -> str:
    failed = [s for s in report.record.scenarios if s.status in ("failed", "error")]
    if not failed:
        return ""
    items = "".join(
        f"<li><strong>{_e(s.name)}</strong> <span class='loc'>{_e(s.location)}</span>"
        + (f"<div class='loc'>at {_e(s.failed_step)}</div>" if s.failed_step else "")
        + f"<div class='err'>{_e(s.error or 'no error message recorded')}</div></li>"
        for s in failed[:200]
    )
    return (
        f"<section id='failed'><h2>Failed scenarios ({len(failed)})</h2>"
        f"<ul class='failed'>{items}</ul></section>"
    )


def _verdict(report: Report) -> str:
    verdict = report.verdict
    parts = []
    if verdict.baseline is None:
        parts.append(
            "<p class='none'>No baseline: nothing was compared. Pin one with"
            " <code>qhub baseline set</code> (or <code>--last 3</code> for a steadier one).</p>"
        )
    else:
        b = verdict.baseline
        parts.append(
            f"<p>{_e(counts_line(verdict))}. Baseline: {_e(baseline_label(verdict))}"
            f" ({_e(', '.join(b.runs[:5]))}{'…' if len(b.runs) > 5 else ''}).</p>"
            f"<p class='loc'>Rule: {_e(verdict.rule)}</p>"
        )
    for warning in verdict.warnings:
        parts.append(f"<p class='warn'>&#9888; {_e(warning)}</p>")
    for note in report.notes:
        parts.append(f"<p class='loc'>{_e(note)}</p>")
    compared = [c for c in verdict.comparisons if c.compared]
    if compared:
        rows = [
            [Cell(f"<span class='st {_e(c.verdict)}'>{_e(c.verdict)}</span>", c.verdict),
             Cell.num(c.change_percent, "{:+.1f}%"), Cell.num(c.baseline_ms),
             Cell.num(c.current_ms), Cell.text(c.method or ""),
             Cell(f"{_e(KIND_LABELS.get(c.kind, c.kind))}: {_e(c.name)}"
                  f" <span class='loc'>{_e(c.location)}</span>"
                  + (f" <span class='loc'>({_e(c.matched_by)})</span>"
                     if c.matched_by not in (None, "key") else ""),
                  clean_line(c.name).lower()),
             Cell(f"<span class='loc'>{_e(c.reason)}</span>", c.reason)]
            for c in compared
        ]  # fmt: skip
        parts.append("<h3>Compared items</h3>")
        parts.append(
            _table(
                "t-compare",
                [("Verdict", "text"), ("Change", "num"), ("Baseline ms", "num"),
                 ("Now ms", "num"), ("Method", "text"), ("What", "text"), ("Why", "text")],
                rows, filter_label="Filter compared items…",
            )
        )  # fmt: skip
    if verdict.not_compared:
        rows = [
            [Cell.text(c.verdict), Cell.text(KIND_LABELS.get(c.kind, c.kind)),
             Cell(f"{_e(c.name)} <span class='loc'>{_e(c.location)}</span>",
                  clean_line(c.name).lower()), Cell.text(c.reason)]
            for c in verdict.not_compared
        ]  # fmt: skip
        parts.append(f"<h3>Not compared ({len(verdict.not_compared)})</h3>")
        parts.append(_table("t-notcompared",
                            [("Why", "text"), ("Kind", "text"), ("What", "text"),
                             ("Detail", "text")], rows))  # fmt: skip
    for leak in verdict.leaks:
        growth = ", ".join(f"{_e(g.name)} (+{g.growth_mb:.2f} MB)" for g in leak.top_growth)
        who = f" ({_e(leak.worker)})" if leak.worker else ""
        parts.append(
            f"<p class='{'bad' if leak.leak else 'ok'}'>Memory{who}: "
            f"{'LEAK' if leak.leak else 'no leak'} &mdash; RSS slope "
            f"{leak.slope_mb_per_item:+.4f} MB/scenario, projected"
            f" {leak.projected_growth_mb:+.2f} MB over {leak.points} scenarios, threshold"
            f" {leak.threshold_mb:g} MB. Largest growth: {growth or 'none'}</p>"
        )
    budgets = verdict.budgets
    if budgets.configured:
        parts.append(f"<h3>Budgets: {plural(len(budgets.violations), 'violation')}</h3>")
        rows = [
            [Cell.text(v.budget), Cell.num(v.value), Cell.num(v.limit),
             Cell(f"{_e(v.name)} <span class='loc'>{_e(v.location or v.key)}</span>",
                  clean_line(v.name).lower())]
            for v in budgets.violations
        ]  # fmt: skip
        parts.append(_table("t-budgets", [("Budget", "text"), ("Value", "num"),
                                          ("Limit", "num"), ("What", "text")], rows))  # fmt: skip
    return "\n".join(parts)


def _stats(report: Report) -> str:
    record = report.record
    if not record.stats:
        return ""
    parts = []
    sets = stats_sets(record)
    line = data_line(sets)
    if line is not None:
        parts.append(f"<p class='data'>{_e(line[0].upper() + line[1:])}</p>")
    budgets = budget_rows(sets)
    if budgets:
        rows = [
            [Cell.text(f"{b['api']} {b['endpoint']}"),
             Cell.num(None if b.get("p95_ms") is None else float(b["p95_ms"]), "{:.1f}"),
             Cell.num(float(b.get("budget_ms") or 0), "{:.1f}"),
             Cell(f"<span class='{'bad' if b.get('passed') is False else 'ok'}'>"
                  f"{_e(budget_verdict(b))}</span>", budget_verdict(b))]
            for b in budgets
        ]  # fmt: skip
        parts.append("<h3>API latency budgets</h3>")
        parts.append(
            _table(
                "t-apibudgets",
                [("Endpoint", "text"), ("p95 ms", "num"), ("Budget ms", "num"), ("Result", "text")],
                rows,
            )
        )
    dump = _e(json.dumps(record.stats, indent=1, default=str))
    parts.append(
        "<details><summary>Cache, API pool and test-data statistics</summary>"
        f"<pre>{dump}</pre></details>"
    )
    return "<section><h2>Cache, API and test data</h2>" + "\n".join(parts) + "</section>"


def _cards(report: Report) -> str:
    record, verdict = report.record, report.verdict
    totals = record.totals
    violations = len(verdict.budgets.violations)
    if verdict.baseline is None:
        regression = ("Regressions", "no baseline", "none", "nothing compared")
    else:
        c = verdict.counts
        regression = ("Regressions", str(c.regressions), "bad" if c.regressions else "ok",
                      f"of {c.compared} compared")  # fmt: skip
    not_cmp = verdict.counts.not_comparable
    cards = [
        ("Wall time", duration_ms(record.run.wall_ms),
         "", "summed over runs" if record.run.pooled else ""),
        ("Scenarios", str(totals.scenarios), "bad" if totals.scenarios_failed else "",
         by_status(totals.scenarios_by_status)),
        ("Steps", str(totals.steps), "", f"+{totals.sub_steps} via execute_steps"
         if totals.sub_steps else by_status(totals.steps_by_status)),
        regression,
        ("Not compared", str(not_cmp) if verdict.baseline is not None else "-", "",
         "new, gone or too few samples"),
        ("Budget violations", str(violations) if verdict.budgets.configured else "none set",
         "bad" if violations else ("ok" if verdict.budgets.configured else "none"), ""),
        ("Memory leak", "yes" if verdict.leak else "no", "bad" if verdict.leak else "ok", ""),
    ]  # fmt: skip
    return "".join(
        f"<div class='card {cls}'><div class='k'>{_e(k)}</div><div class='v'>{_e(v)}</div>"
        f"<div class='sub'>{_e(sub)}</div></div>"
        for k, v, cls, sub in cards
    )


def _meta(report: Report) -> str:
    run = report.record.run
    facts = [("status", run.status), ("branch", run.git_branch),
             ("commit", (run.git_commit or "")[:12] + (" (uncommitted changes)"
                                                       if run.git_dirty else "")),
             ("host", run.host), ("Python", run.python), ("behave", run.behave_version),
             ("qhub", run.qhub_version), ("finished", run.finished_at),
             ("tags", " ".join(run.tags))]  # fmt: skip
    return " &middot; ".join(_e(f"{k}: {v}") for k, v in facts if v)


def _scope(report: Report) -> str:
    run = report.record.run
    if run.pooled:
        return (
            f"<p class='pooled'>Pooled report: {len(run.pooled_runs)} runs"
            f" ({_e(', '.join(run.pooled_runs[:8]))}{'…' if len(run.pooled_runs) > 8 else ''})"
            " merged into one view; counts add up over the runs.</p>"
        )
    if run.workers > 1:
        return (
            f"<p class='pooled'>One run of {run.workers} parallel workers"
            f" ({_e(', '.join(run.worker_ids[:8]))}{'…' if len(run.worker_ids) > 8 else ''});"
            " the attribution below is summed worker time.</p>"
        )
    return ""


def _others(report: Report) -> tuple[str, str, str]:
    record = report.record
    hook_rows = [
        [
            Cell.text(h.hook),
            Cell.num(h.count, "{:.0f}"),
            Cell.num(h.total_ms),
            Cell.num(h.max_ms),
            Cell.num(h.failed, "{:.0f}"),
        ]
        for h in record.hooks
    ]
    module_rows = [[Cell.text(m.path), Cell.num(m.ms)] for m in record.step_modules]
    method_rows = [[Cell.text(m.method), Cell.num(m.count, "{:.0f}"), Cell.num(m.total_ms),
                    Cell.num(m.p95_ms, "{:.3f}")] for m in record.methods]  # fmt: skip
    return (
        _table("t-hooks", [("Hook", "text"), ("Calls", "num"), ("Total ms", "num"),
                           ("Max ms", "num"), ("Failed", "num")], hook_rows),
        _table("t-modules", [("Step module", "text"), ("Load ms", "num")], module_rows),
        _table("t-methods", [("Block / method", "text"), ("Calls", "num"), ("Total ms", "num"),
                             ("p95 ms", "num")], method_rows,
               empty="None recorded (use profile_block(context.profiler, name)).")
    )  # fmt: skip


def render(report: Report, options: RenderOptions) -> str:
    run = report.record.run
    nonce = secrets.token_urlsafe(16)
    hooks, modules, methods = _others(report)
    stress: str = ""
    stress_data: dict[str, Any] | None = None
    if report.stress is not None:  # its view's record types load only with stress runs
        from qhub.profiling.render.html_stress import stress_parts

        stress, stress_data = stress_parts(report)
    data = chart_data(report)
    data["stress"] = stress_data
    title = f"qhub report {run.id}" + (" (pooled)" if run.pooled else "")
    return _asset("page.html").format(
        nonce=nonce,
        title=_e(title),
        run_id=_e(run.id),
        scope_label=_e(
            "pooled runs" if run.pooled else ("workers merged" if run.workers > 1 else "one run")
        ),
        meta=_meta(report),
        scope=_scope(report),
        cards=_cards(report),
        analysis=_verdict(report),
        failed=_failed(report),
        steps=_steps_table(report),
        scenarios=_scenarios_table(report),
        hooks=hooks,
        modules=modules,
        methods=methods,
        stats=_stats(report),
        stress=stress,
        measured_from=_e(report.record.attribution.measured_from),
        data=_json_island(data),
        script=_asset("report.js"),
        style=_asset("report.css"),
    )
