"""The HTML report's "Stress" section: the newest ``qhub stress`` run in the history.

Shown when the history holds stress runs: a sortable table of percentiles per endpoint
(all requests first), latency over time (p50/p95/p99 per interval) and failed requests
over time per error kind, drawn by the page's script from the JSON island like the other
charts, and the recent stress runs. Everything comes from the stored dict alone, read by
:func:`~qhub.profiling.render.stress_view.read_stress`: a document it cannot read leaves
the section with one escaped note, never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qhub.profiling.render._html import Cell, esc, sortable_table
from qhub.profiling.render.stress_view import (
    MAX_ERROR_KINDS,
    EndpointRow,
    StressDocumentError,
    StressView,
    read_stress,
)

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report, StressRuns


def stress_parts(report: Report) -> tuple[str, dict[str, Any] | None]:
    """The section's HTML ("" without stress runs) and its chart data (None: no charts)."""
    runs = report.stress
    if runs is None:
        return "", None
    newest = runs.recent[0]
    try:
        if runs.document is None:
            raise StressDocumentError("no readable record")
        view = read_stress(runs.document)
    except StressDocumentError as exc:
        note = f"The newest stress run ({newest.id}) cannot be shown: {exc}."
        body = f"<p class='warn'>{esc(note)}</p>{_recent(runs)}"
        return _section(body), None
    return _section(_body(view, newest.status) + _recent(runs)), chart_data(view)


def chart_data(view: StressView) -> dict[str, Any]:
    """Latency and error series for the page's script (intervals without a request leave
    a gap in the latency lines)."""
    latency = {
        name: [[p.t_s, getattr(p, attr) if p.requests else None] for p in view.timeline]
        for name, attr in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
    }
    totals: dict[str, int] = {}
    for point in view.timeline:
        for kind, count in point.errors:
            totals[kind] = totals.get(kind, 0) + count
    kinds = sorted(totals, key=lambda k: -totals[k])
    shown = kinds[:MAX_ERROR_KINDS]
    errors = {kind: [[p.t_s, dict(p.errors).get(kind, 0)] for p in view.timeline] for kind in shown}
    if len(kinds) > len(shown):
        errors["other kinds"] = [
            [p.t_s, sum(n for k, n in p.errors if k not in shown)] for p in view.timeline
        ]
    stride = view.timeline_stride
    return {
        "latency": latency,
        "errors": errors,
        "note": f"Every {stride}th interval shown." if stride > 1 else "",
    }


def _section(body: str) -> str:
    return f"<section id='stress'><h2>Stress</h2>{body}</section>"


def _body(view: StressView, status: str | None) -> str:
    req = view.requests
    facts = [
        f"run {view.run_id}",
        view.plan,
        f"started {view.started_at}",
        f"{view.elapsed_s:,.1f} s ({view.stopped})",
        f"{req.count:,} requests ({req.rate_per_s:,.1f}/s)",
        f"{req.errors:,} failed",
    ]
    if status:
        facts.append(f"status {status}")
    corrected = (
        "<p class='loc'>A target rate was set: latencies count from each iteration's"
        " scheduled start (coordinated omission accounted for).</p>"
        if view.corrected
        else ""
    )
    more = view.endpoints_total - len(view.endpoints)
    hidden = f"<p class='loc'>{more} more endpoints in the stress run's JSON.</p>" if more else ""
    return (
        f"<p class='loc'>{' &middot; '.join(esc(f) for f in facts)}</p>{corrected}"
        f"<h3>Percentiles per endpoint</h3>{_endpoints(view)}{hidden}"
        "<h3>Latency over time</h3><div id='chart-stress-latency'></div>"
        "<h3>Errors over time</h3><div id='chart-stress-errors'></div>"
    )


def _endpoints(view: StressView) -> str:
    def row(r: EndpointRow) -> list[Cell]:
        return [
            Cell.text(r.label),
            Cell.num(r.count, "{:,.0f}"),
            Cell.num(r.rate_per_s, "{:,.1f}"),
            Cell.num(r.errors, "{:,.0f}"),
            Cell.num(r.p50_ms),
            Cell.num(r.p90_ms),
            Cell.num(r.p95_ms),
            Cell.num(r.p99_ms),
            Cell.num(r.max_ms),
        ]

    return sortable_table(
        "t-stress",
        [("Endpoint", "text"), ("Requests", "num"), ("Per s", "num"), ("Errors", "num"),
         ("p50 ms", "num"), ("p90 ms", "num"), ("p95 ms", "num"), ("p99 ms", "num"),
         ("Max ms", "num")],
        [row(view.requests), *(row(r) for r in view.endpoints)],
        filter_label="Filter endpoints…",
    )  # fmt: skip


def _recent(runs: StressRuns) -> str:
    rows = [
        [Cell.text(r.id), Cell.text(r.finished_at or ""), Cell.text(r.status or ""),
         Cell.num(None if r.wall_ms is None else r.wall_ms / 1000.0, "{:,.1f}")]
        for r in runs.recent
    ]  # fmt: skip
    table = sortable_table(
        "t-stress-runs",
        [("Stress run", "text"), ("Finished", "text"), ("Status", "text"), ("Load s", "num")],
        rows,
    )
    return f"<h3>Recent stress runs</h3>{table}"


__all__ = ["chart_data", "stress_parts"]
