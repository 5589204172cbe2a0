"""The HTML report: one self-contained file (inline CSS and JS, no network), opens offline.

Tables are rendered here with every value passed through :func:`html.escape`; charts are
drawn in the browser as SVG from a JSON island (``<script type="application/json">`` with
``</`` escaped), using ``textContent`` only. A Content-Security-Policy with a per-file
nonce allows no script but qhub's own.
"""

from __future__ import annotations

import functools
import json
import secrets
from html import escape
from importlib import resources
from typing import Any

from qhub.profiling.render._fmt import budget_rows, budget_verdict, data_line, short, stats_sets
from qhub.profiling.stats import percentile_sorted

TOP_BARS = 15
TOP_DISTRIBUTIONS = 8
MAX_DOTS = 300


@functools.cache
def _asset(name: str) -> str:
    """A file of ``render/assets`` (package data): page template, CSS or JS."""
    return (resources.files("qhub.profiling.render") / "assets" / name).read_text("utf-8")


def preload_assets() -> None:
    """Read the page template, CSS and JS into the cache now (see ``render.preload``)."""
    for name in ("page.html", "report.css", "report.js"):
        _asset(name)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _json_island(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def chart_data(report: dict[str, Any]) -> dict[str, Any]:
    """The subset of the report the charts need."""
    steps = report["step_definitions"]
    distributions = []
    for row in steps[:TOP_DISTRIBUTIONS]:
        samples = sorted(row.get("samples_ms", []))
        if not samples:
            continue
        stride = max(1, len(samples) // MAX_DOTS)
        distributions.append(
            {
                "label": short(row["pattern"], 48),
                "q": [samples[0], percentile_sorted(samples, 25), percentile_sorted(samples, 50),
                      percentile_sorted(samples, 75), percentile_sorted(samples, 95),
                      samples[-1]],
                "dots": samples[::stride],
            }
        )  # fmt: skip
    memory = report.get("memory") or {}
    series = memory.get("series_by_worker") or (
        {"run": memory["series"]} if memory.get("series") else {}
    )
    return {
        "attribution": [
            {"label": p["label"], "ms": p["ms"]}
            for p in report["attribution"]["parts"]
            if p["ms"] > 0
        ],
        "bars": [
            {"label": short(r["pattern"], 48), "ms": r["total_ms"], "count": r["count"]}
            for r in steps[:TOP_BARS]
        ],
        "distributions": distributions,
        "trend": [
            {
                "label": (t.get("finished_at") or t["group"]),
                "wall": t["wall_ms"] or 0,
                "steps": t["step_ms"] or 0,
                "baseline": t["baseline"],
                "current": t["current"],
            }
            for t in report.get("history", [])
        ],
        "memory": series,
    }


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _steps_table(report: dict[str, Any]) -> str:
    rows = []
    for r in report["step_definitions"]:
        texts = "".join(
            f"<li><code>{_e(t['text'])}</code> &times;{t['count']}, {t['total_ms']:.2f} ms total,"
            f" max {t['max_ms']:.2f} ms</li>"
            for t in r.get("texts", [])[:50]
        )
        status = ", ".join(f"{_e(k)} {v}" for k, v in sorted(r["statuses"].items()))
        cell = (
            f"<details><summary>{_e(r['pattern'])}</summary><div class='loc'>{_e(r['key'])}"
            f" &middot; {status}</div><ul>{texts}</ul></details>"
        )
        rows.append([cell, str(r["count"]), f"{r['total_ms']:.2f}", f"{r['mean_ms']:.3f}",
                     f"{r['p50_ms']:.3f}", f"{r['p95_ms']:.3f}", f"{r['max_ms']:.3f}"])  # fmt: skip
    return _table(
        ["Step definition", "Calls", "Total ms", "Mean", "p50", "p95", "Max"],
        rows,
        {1, 2, 3, 4, 5, 6},
    )


def _analysis(report: dict[str, Any]) -> str:
    analysis = report.get("analysis") or {}
    parts = []
    baseline = analysis.get("baseline")
    if baseline is None:
        parts.append("<p>No baseline pinned yet: <code>qhub baseline set</code>.</p>")
    else:
        parts.append(
            f"<p>Baseline: {_e(baseline['source'])}, runs {_e(', '.join(baseline['runs'][:5]))}</p>"
        )
    for title, changes in (("Regressions", analysis.get("regressions", [])),
                           ("Improvements", analysis.get("improvements", []))):  # fmt: skip
        if changes:
            parts.append(f"<h3>{title}</h3>")
            parts.append(_table(
                ["Change", "Baseline median ms", "Current median ms", "p", "Samples", "Kind",
                 "What"],
                [[f"{c['change_percent']:+.1f}%", f"{c['baseline_median_ms']:.3f}",
                  f"{c['current_median_ms']:.3f}", f"{c['p_value']:.2g}",
                  f"{c['baseline_samples']}/{c['current_samples']}", _e(c["kind"]),
                  f"{_e(c['name'])} <span class='loc'>{_e(c['key'])}</span>"] for c in changes],
                {0, 1, 2, 3},
            ))  # fmt: skip
    for leak in analysis.get("leaks", []):
        growth = ", ".join(
            f"{_e(g['name'])} (+{g['growth_mb']:.2f} MB)" for g in leak["top_growth"]
        )
        ci = leak["slope_ci95"]
        parts.append(
            f"<p class='{'bad' if leak['leak'] else 'ok'}'>Memory: "
            f"{'LEAK' if leak['leak'] else 'no leak'} &mdash; RSS slope "
            f"{leak['slope_mb_per_item']:+.4f} MB/scenario (95% bounds {_e(ci)}),"
            f" projected {leak['projected_growth_mb']:+.2f} MB over {leak['points']} scenarios,"
            f" threshold {leak['threshold_mb']} MB. Largest growth: {growth or 'none'}</p>"
        )
    budgets = analysis.get("budgets") or {}
    if budgets.get("configured"):
        violations = budgets.get("violations", [])
        parts.append(f"<h3>Budgets: {len(violations)} violation(s)</h3>")
        if violations:
            parts.append(_table(["Budget", "Value", "Limit", "What"], [
                [_e(v["budget"]), f"{v['value']:.2f} {_e(v['unit'])}", f"{v['limit']:.2f}",
                 f"{_e(v['name'])} <span class='loc'>{_e(v['key'])}</span>"] for v in violations],
                {1, 2}))  # fmt: skip
    return "\n".join(parts)


def _stats(report: dict[str, Any]) -> str:
    stats = report.get("stats") or {}
    if not stats:
        return ""
    parts = []
    sets = stats_sets(report)
    line = data_line(sets)
    if line is not None:
        parts.append(f"<p class='data'>{_e(line[0].upper() + line[1:])}</p>")
    budgets = budget_rows(sets)
    if budgets:
        rows = [
            [f"{_e(b['api'])} {_e(b['endpoint'])}",
             "-" if b.get("p95_ms") is None else f"{float(b['p95_ms']):.1f}",
             f"{float(b.get('budget_ms') or 0):.1f}",
             f"<span class='{'bad' if b.get('passed') is False else 'ok'}'>"
             f"{_e(budget_verdict(b))}</span>"]
            for b in budgets
        ]  # fmt: skip
        parts.append("<h3>API latency budgets</h3>")
        parts.append(_table(["Endpoint", "p95 ms", "Budget ms", "Result"], rows, {1, 2}))
    dump = _e(json.dumps(stats, indent=1, default=str))
    parts.append(
        "<details><summary>Cache, API pool and test-data statistics</summary>"
        f"<pre>{dump}</pre></details>"
    )
    return "\n".join(parts)


def render(report: dict[str, Any]) -> str:
    run, totals = report["run"], report["totals"]
    analysis = report.get("analysis") or {}
    nonce = secrets.token_urlsafe(16)
    regressions = len(analysis.get("regressions", []))
    violations = len((analysis.get("budgets") or {}).get("violations", []))
    leak = bool(analysis.get("leak"))
    cards = [
        ("Wall time", f"{run['wall_ms'] / 1000:.2f} s", ""),
        ("Scenarios", str(totals["scenarios"]), ""),
        ("Steps", str(totals["steps"]), ""),
        ("Regressions", str(regressions), "bad" if regressions else "ok"),
        ("Budget violations", str(violations), "bad" if violations else "ok"),
        ("Memory leak", "yes" if leak else "no", "bad" if leak else "ok"),
    ]
    cards_html = "".join(
        f"<div class='card {cls}'><div class='k'>{_e(k)}</div><div class='v'>{_e(v)}</div></div>"
        for k, v, cls in cards
    )
    meta = " &middot; ".join(
        _e(f"{k}: {run[k]}") for k in ("status", "git_branch", "git_commit", "host", "python",
                                        "qhub_version", "finished_at") if run.get(k)
    )  # fmt: skip
    scenarios = sorted(report["scenarios"], key=lambda s: -s["duration_ms"])[:200]
    scenario_rows = [[_e(s["name"]), _e(s["key"]), _e(s["status"]), f"{s['duration_ms']:.2f}",
                      f"{s['hooks_ms']:.2f}", f"{s['rss_delta_mb']:+.2f}"]
                     for s in scenarios]  # fmt: skip
    hook_rows = [[_e(h["hook"]), str(h["count"]), f"{h['total_ms']:.2f}", f"{h['max_ms']:.2f}",
                  str(h.get("failed", 0))] for h in report["hooks"]]  # fmt: skip
    module_rows = [[_e(m["path"]), f"{m['ms']:.2f}"] for m in report["step_modules"]]
    method_rows = [[_e(m["method"]), str(m["count"]), f"{m['total_ms']:.2f}", f"{m['p95_ms']:.3f}"]
                   for m in report.get("methods", [])]  # fmt: skip
    return _asset("page.html").format(
        nonce=nonce,
        title=_e(f"qhub report {run['id']}"),
        run_id=_e(run["id"]),
        meta=meta,
        cards=cards_html,
        analysis=_analysis(report),
        steps=_steps_table(report),
        scenarios=_table(
            ["Scenario", "Location", "Status", "ms", "Hooks ms", "RSS Δ MB"],
            scenario_rows,
            {3, 4, 5},
        ),
        hooks=_table(["Hook", "Calls", "Total ms", "Max ms", "Failed"], hook_rows, {1, 2, 3, 4}),
        modules=_table(["Step module", "Load ms"], module_rows, {1}),
        methods=_table(["Block / method", "Calls", "Total ms", "p95 ms"], method_rows, {1, 2, 3})
        if method_rows
        else "<p>None recorded (use <code>profile_block(context.profiler, name)</code>).</p>",
        stats=_stats(report),
        measured_from=_e(report["attribution"]["measured_from"]),
        data=_json_island(chart_data(report)),
        script=_asset("report.js"),
        style=_asset("report.css"),
    )
