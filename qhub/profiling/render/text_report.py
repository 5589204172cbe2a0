"""The end-of-run terminal summary (plain text, fixed-width tables)."""

from __future__ import annotations

from typing import Any

from qhub.profiling.render._fmt import (
    budget_lines,
    cache_line,
    change_line,
    data_line,
    pool_lines,
    seconds,
    short,
    stats_sets,
)


def render(report: dict[str, Any], top: int = 10) -> str:
    run, totals, attribution = report["run"], report["totals"], report["attribution"]
    out: list[str] = []
    add = out.append
    workers = f", {run['workers']} workers" if run.get("workers", 1) > 1 else ""
    add(
        f"qhub profile: run {run['id']} ({run.get('status', '?')}{workers}), wall "
        f"{seconds(run['wall_ms'])}, {totals['scenarios']} scenarios, {totals['steps']} steps"
    )
    add(f"Where the time went (from {attribution['measured_from']}):")
    for part in attribution["parts"]:
        if part["ms"] > 0 or part["name"] in ("step_bodies", "qhub_overhead"):
            add(f"  {part['label']:<46} {part['ms'] / 1000:>9.3f} s {part['percent']:>6.1f}%")
    steps = report["step_definitions"]
    header = f"  {'total ms':>10} {'calls':>6} {'mean ms':>9} {'p95 ms':>9}  step definition"
    for title, ordered in (
        ("by total", steps[:top]),
        ("by mean", sorted(steps, key=lambda r: -r["mean_ms"])[:top]),
    ):
        if ordered:
            add(f"Slowest step definitions {title}:")
            add(header)
            for r in ordered:
                add(
                    f"  {r['total_ms']:>10.1f} {r['count']:>6} {r['mean_ms']:>9.2f} "
                    f"{r['p95_ms']:>9.2f}  {short(r['pattern'], 50)} ({r['key']})"
                )
    scenarios = sorted(report["scenarios"], key=lambda s: -s["duration_ms"])[:top]
    if scenarios:
        add("Slowest scenarios:")
        for s in scenarios:
            add(f"  {s['duration_ms']:>10.1f} ms  {short(s['name'], 50)} ({s['key']})")
    if report["hooks"]:
        add("Hooks:")
        for h in report["hooks"]:
            failed = f", {h['failed']} failed" if h.get("failed") else ""
            add(
                f"  {h['total_ms']:>10.1f} ms  {h['hook']} x{h['count']}"
                f" (max {h['max_ms']:.1f} ms{failed})"
            )
    if report["step_modules"]:
        total = sum(m["ms"] for m in report["step_modules"])
        add(f"Step modules: {len(report['step_modules'])} loaded in {total:.1f} ms")
        for m in sorted(report["step_modules"], key=lambda m: -m["ms"])[:3]:
            add(f"  {m['ms']:>10.1f} ms  {m['path']}")
    sets = stats_sets(report)
    for stats in sets:
        for line in filter(None, [cache_line(stats), *pool_lines(stats)]):
            add(line)
    out.extend(filter(None, [data_line(sets)]))
    out.extend(budget_lines(sets))
    analysis = report.get("analysis") or {}
    out.extend(analysis_lines(analysis, top))
    return "\n".join(out) + "\n"


def analysis_lines(analysis: dict[str, Any], top: int) -> list[str]:
    out: list[str] = []
    baseline = analysis.get("baseline")
    if baseline is None:
        out.append("Regressions: no baseline yet (`qhub baseline set` pins one)")
    else:
        regressions = analysis.get("regressions", [])
        improvements = analysis.get("improvements", [])
        out.append(
            f"Regressions vs baseline ({baseline['source']}): {len(regressions)}; "
            f"improvements: {len(improvements)}"
        )
        out.extend(f"  SLOWER {change_line(c)}" for c in regressions[:top])
        out.extend(f"  faster {change_line(c)}" for c in improvements[:top])
    for leak in analysis.get("leaks", []):
        verdict = "LEAK" if leak["leak"] else "no leak"
        where = ", ".join(
            f"{short(g['name'], 30)} +{g['growth_mb']:.1f} MB" for g in leak["top_growth"][:3]
        )
        out.append(
            f"Memory: {verdict}: RSS slope {leak['slope_mb_per_item']:+.3f} MB/scenario, "
            f"projected {leak['projected_growth_mb']:+.1f} MB (threshold {leak['threshold_mb']} MB)"
            + (f"; growth in {where}" if where and leak["leak"] else "")
        )
    budgets = analysis.get("budgets") or {}
    if budgets.get("configured"):
        violations = budgets.get("violations", [])
        out.append(f"Budgets: {len(violations)} violation(s)")
        out.extend(
            f"  {v['budget']}: {v['value']:.1f} {v['unit']} > {v['limit']:.1f} {v['unit']}  "
            f"{short(v['name'], 50)} ({v['key']})"
            for v in violations[:top]
        )
    return out
