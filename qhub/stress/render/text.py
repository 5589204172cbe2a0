"""The stress report for a terminal: what ran, tables per endpoint/step/scenario, errors,
budgets."""

from __future__ import annotations

from qhub.stress.result import Row, StressResult

_TOP = 15
_NAME = 44


def _name(text: str) -> str:
    return text if len(text) <= _NAME else text[: _NAME - 1] + "…"


def _table(title: str, rows: list[Row], *, head: Row | None = None) -> list[str]:
    lines = [
        f"{title:<{_NAME}} {'count':>8} {'/s':>8} {'err%':>6} {'p50 ms':>9} {'p90 ms':>9} "
        f"{'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    ]
    shown = ([head] if head is not None else []) + rows[:_TOP]
    for r in shown:
        lines.append(
            f"{_name(r.label):<{_NAME}} {r.count:>8,} {r.rate_per_s:>8.1f} "
            f"{r.error_percent:>6.1f} {r.p50_ms:>9.2f} {r.p90_ms:>9.2f} {r.p95_ms:>9.2f} "
            f"{r.p99_ms:>9.2f} {r.max_ms:>9.2f}"
        )
    if len(rows) > _TOP:
        lines.append(f"  ... {len(rows) - _TOP} more in the JSON report")
    return lines


def render(result: StressResult) -> str:
    plan = result.plan
    it = result.iterations
    lines = [f"qhub stress: {plan.describe()}"]
    stop = result.stop_reason if not result.signal else f"stopped by {result.signal}"
    if result.abandoned:
        stop += " (users abandoned after a second signal)"
    req = result.requests
    lines.append(
        f"  {result.elapsed_s:.1f} s ({stop}); {req.count:,} requests "
        f"({req.rate_per_s:,.1f}/s), {req.errors:,} failed ({req.error_percent:.2f}%); "
        f"{it['completed']:,} iterations ({it['per_s']:,.2f}/s, {it['interrupted']} interrupted)"
    )
    if result.corrected:
        lines.append(
            f"  latencies measured from each iteration's scheduled start: schedule lag "
            f"p50 {it['lag_p50_ms']} ms, p99 {it['lag_p99_ms']} ms, max {it['lag_max_ms']} ms; "
            f"{it['not_started']} due iteration(s) never started"
        )
    client = result.client
    cpu_note = (
        "  <- CPU-bound: latencies include waiting for the GIL" if client["cpu_bound"] else ""
    )
    lines.append(
        f"  load generator: {client['users']} threads, "
        f"CPU {client['cpu_percent']}% of one core{cpu_note}"
    )
    lines.append("")
    lines += _table("endpoint", result.endpoints, head=req)
    if result.steps:
        lines.append("")
        lines += _table("step definition", result.steps)
    if result.scenarios:
        lines.append("")
        lines.append(
            f"{'scenario':<{_NAME}} {'runs':>8} {'passed':>8} {'failed':>8} "
            f"{'p50 ms':>9} {'p95 ms':>9}"
        )
        for r in result.scenarios[:_TOP]:
            passed = r.outcomes.get("passed", 0)
            lines.append(
                f"{_name(r.label):<{_NAME}} {r.count:>8,} {passed:>8,} {r.errors:>8,} "
                f"{r.p50_ms:>9.2f} {r.p95_ms:>9.2f}"
            )
    errors = _first_errors(result)
    if errors:
        lines.append("")
        lines.append("first error of each kind:")
        lines += [f"  {line}" for line in errors]
    if result.budgets:
        lines.append("")
        lines.append("budgets:")
        for b in result.budgets:
            word = "ok  " if b.passed else "FAIL"
            sign = ">=" if b.note == "at least" else "<="
            actual = "n/a" if b.actual is None else f"{b.actual:g} {b.unit}"
            why = f" ({b.note})" if b.note and b.note != "at least" else ""
            lines.append(f"  {word} {b.name}: {actual} {sign} {b.limit:g} {b.unit}{why}")
    text = "\n".join(lines) + "\n"
    if result.comparison is not None:
        from qhub.stress.compare import StressChange, StressComparison, render_comparison

        data = dict(result.comparison)
        for key in ("regressions", "improvements"):
            data[key] = [StressChange(**c) for c in data[key]]
        text += "\n" + render_comparison(StressComparison(**data))
    return text


def _first_errors(result: StressResult) -> list[str]:
    out: list[str] = []
    for title, rows in (("request", result.endpoints), ("scenario", result.scenarios)):
        for r in rows:
            for kind, message in r.first_errors.items():
                n = r.errors_by_kind.get(kind, 0)
                out.append(f"{kind} x{n} in {title} {r.label}: {message}")
    return out[:20]
