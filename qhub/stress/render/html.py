"""The stress report as one self-contained HTML page: latency over time, percentiles per
endpoint, errors over time, steps and scenarios. Inline SVG, no scripts, no network; every
text from the run is escaped (names and messages were already redacted when frozen)."""

from __future__ import annotations

from html import escape

from qhub.stress.measure import TimelinePoint
from qhub.stress.result import Row, StressResult

_W, _H, _PAD = 760, 220, 40
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;text-align:right}
td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#f3f5f8}
.fail{color:#b3261e;font-weight:600}.ok{color:#1b6e3a}.note{color:#5b6575}
svg{background:#fafbfc;border:1px solid #dde2ea}
"""
_SERIES = (("p50_ms", "#2f6fdf", "p50"), ("p95_ms", "#e08a00", "p95"), ("p99_ms", "#b3261e", "p99"))


def _axis_max(values: list[float]) -> float:
    top = max(values, default=0.0)
    return top * 1.1 if top > 0 else 1.0


def _points(timeline: list[TimelinePoint], attr: str, y_max: float, t_max: float) -> str:
    out = []
    for p in timeline:
        x = _PAD + (_W - 2 * _PAD) * (p.t_s / t_max if t_max else 0)
        y = _H - _PAD - (_H - 2 * _PAD) * (float(getattr(p, attr)) / y_max)
        out.append(f"{x:.1f},{y:.1f}")
    return " ".join(out)


def _frame(title: str, y_max: float, unit: str, t_max: float) -> list[str]:
    return [
        f'<svg width="{_W}" height="{_H}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#889"/>',
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#889"/>',
        f'<text x="4" y="{_PAD - 8}" font-size="11">{y_max:,.1f} {unit}</text>',
        f'<text x="{_W - _PAD - 40}" y="{_H - 10}" font-size="11">{t_max:,.0f} s</text>',
    ]


def _latency_chart(timeline: list[TimelinePoint]) -> str:
    active = [p for p in timeline if p.requests]
    if not active:
        return '<p class="note">No request completed.</p>'
    y_max = _axis_max([p.p99_ms for p in active])
    t_max = max(p.t_s for p in timeline)
    parts = _frame("latency over time", y_max, "ms", t_max)
    for attr, colour, name in _SERIES:
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
            f'points="{_points(active, attr, y_max, t_max)}"><title>{name}</title></polyline>'
        )
    legend = " ".join(f'<tspan fill="{c}">{n}</tspan>' for _, c, n in _SERIES)
    parts.append(f'<text x="{_W - 160}" y="{_PAD - 8}" font-size="12">{legend}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _error_chart(timeline: list[TimelinePoint]) -> str:
    if not any(p.errors for p in timeline):
        return '<p class="ok">No failed request.</p>'
    totals = [sum(p.errors.values()) for p in timeline]
    y_max = _axis_max([float(t) for t in totals])
    t_max = max(p.t_s for p in timeline) or 1.0
    parts = _frame("errors over time", y_max, "errors/interval", t_max)
    width = max(2.0, (_W - 2 * _PAD) / max(1, len(timeline)) - 1)
    for p, total in zip(timeline, totals, strict=True):
        if not total:
            continue
        x = _PAD + (_W - 2 * _PAD) * p.t_s / t_max - width
        h = (_H - 2 * _PAD) * total / y_max
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(p.errors.items()))
        parts.append(
            f'<rect x="{x:.1f}" y="{_H - _PAD - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="#b3261e"><title>{p.t_s:g} s: {escape(kinds)}</title></rect>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _table(title: str, rows: list[Row]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (title, "count", "/s", "errors", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms")
    )
    body = []
    for r in rows:
        errors = f'<span class="fail">{r.errors:,}</span>' if r.errors else "0"
        body.append(
            f"<tr><td>{escape(r.label)}</td><td>{r.count:,}</td><td>{r.rate_per_s:,.1f}</td>"
            f"<td>{errors}</td><td>{r.p50_ms:,.2f}</td><td>{r.p90_ms:,.2f}</td>"
            f"<td>{r.p95_ms:,.2f}</td><td>{r.p99_ms:,.2f}</td><td>{r.max_ms:,.2f}</td></tr>"
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(result: StressResult) -> str:
    req = result.requests
    stop = f"stopped by {result.signal}" if result.signal else result.stop_reason
    budgets = "".join(
        f'<li class="{"ok" if b.passed else "fail"}">{"ok" if b.passed else "FAIL"} '
        f"{escape(b.name)}: {'n/a' if b.actual is None else f'{b.actual:g} {b.unit}'} "
        f"(limit {b.limit:g} {b.unit}) {escape(b.note)}</li>"
        for b in result.budgets
    )
    errors = "".join(
        f"<li><b>{escape(kind)}</b> x{r.errors_by_kind.get(kind, 0)} in {escape(r.label)}: "
        f"{escape(message)}</li>"
        for r in [*result.endpoints, *result.scenarios]
        for kind, message in r.first_errors.items()
    )
    corrected = (
        '<p class="note">A target rate was set: latencies are measured from each '
        "iteration's scheduled start (coordinated omission accounted for).</p>"
        if result.corrected
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qhub stress {escape(result.run_id)}</title>
<style>{_CSS}</style></head><body>
<h1>qhub stress: {escape(result.plan.describe())}</h1>
<p>{escape(result.started_at)} &middot; {result.elapsed_s:,.1f} s ({escape(stop)}) &middot;
{req.count:,} requests ({req.rate_per_s:,.1f}/s) &middot; {req.errors:,} failed &middot;
load generator CPU {result.client["cpu_percent"]}% of one core</p>
{corrected}
<h2>Latency over time (all requests, per interval)</h2>
{_latency_chart(result.timeline)}
<h2>Percentiles per endpoint</h2>
{_table("endpoint", [req, *result.endpoints])}
<h2>Errors over time</h2>
{_error_chart(result.timeline)}
{f"<ul>{errors}</ul>" if errors else ""}
<h2>Step definitions</h2>
{_table("step definition", result.steps)}
<h2>Scenarios</h2>
{_table("scenario", result.scenarios)}
{f"<h2>Budgets</h2><ul>{budgets}</ul>" if budgets else ""}
</body></html>
"""
