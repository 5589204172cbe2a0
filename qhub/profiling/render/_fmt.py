"""Formatting shared by the renderers: durations, safe short text, stats lines, verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qhub._figures import percent
from qhub.profiling._clean import clean_line
from qhub.profiling.record import RunRecord
from qhub.profiling.verdict import Comparison, Verdict

KIND_LABELS = {"step_definition": "step", "scenario": "scenario", "method": "block"}


def seconds(ms: float) -> str:
    return f"{ms / 1000:.3f} s"


def duration_ms(ms: float) -> str:
    """``850 µs``, ``12.3 ms``, ``1.24 s``, ``2 min 05 s``."""
    if ms >= 120_000:
        return f"{int(ms // 60_000)} min {int(ms % 60_000 // 1000):02d} s"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.1f} ms"
    return f"{ms * 1000:.0f} µs"


def duration(s: float) -> str:
    """A duration in seconds, shown in ms below one second (``3.1 ms``, ``1.20 s``)."""
    return f"{s:.2f} s" if s >= 1 else f"{s * 1000:.1f} ms"


def short(text: Any, width: int = 60) -> str:
    """One safe line (bidi and control characters made visible), at most ``width`` chars."""
    line = clean_line(str(text))
    return line if len(line) <= width else line[: width - 1] + "…"


def md_cell(text: Any, width: int = 60) -> str:
    """Markdown text (a table cell, a heading): one safe line of at most ``width`` chars;
    backslashes, pipes, backticks and angle brackets neutralised."""
    return (
        short(text, width).replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")
        .replace("<", "&lt;").replace(">", "&gt;")
    )  # fmt: skip


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def by_status(counts: Mapping[str, int], order: Sequence[str] = ("passed", "failed")) -> str:
    """``12 passed, 1 failed, 2 skipped`` (zero counts left out, known statuses first)."""
    names = [*order, *sorted(k for k in counts if k not in order)]
    return ", ".join(f"{counts[k]} {k}" for k in names if counts.get(k))


def stats_sets(record: RunRecord) -> list[dict[str, Any]]:
    """The run's ``stats`` dict, or each part's in a merged record."""
    stats = record.stats or {}
    if record.run.merged:
        return [s for s in stats.values() if isinstance(s, dict)]
    return [dict(stats)]


def _num(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def cache_line(sets: Sequence[Mapping[str, Any]]) -> str | None:
    """``cache: 80.0% hits (12 hits, 3 misses)`` summed over parts, or ``None``."""
    found = [s["cache"] for s in sets if isinstance(s.get("cache"), dict)]
    if not found:
        return None
    hits = sum(_num(c.get("hits")) for c in found)
    misses = sum(_num(c.get("misses")) for c in found)
    if not hits + misses:
        return None
    rate = percent(hits, hits + misses)
    return f"cache: {rate:.1f}% hits ({hits:.0f} hits, {misses:.0f} misses)"


def pool_lines(sets: Sequence[Mapping[str, Any]]) -> list[str]:
    """``API default: 40 requests, connection reuse 95.0% (38 reused, 2 opened)`` per API."""
    by_api: dict[str, dict[str, float]] = {}
    for stats in sets:
        api = stats.get("api")
        if not isinstance(api, dict):
            continue
        for name, pool in api.items():
            if isinstance(pool, dict):
                slot = by_api.setdefault(str(name), {"requests": 0, "created": 0, "reused": 0})
                slot["requests"] += _num(pool.get("requests"))
                slot["created"] += _num(pool.get("connections_created"))
                slot["reused"] += _num(pool.get("connections_reused"))
    lines = []
    for name, f in sorted(by_api.items()):
        total = f["created"] + f["reused"]
        share = percent(f["reused"], total)
        lines.append(
            f"API {short(name, 30)}: {f['requests']:.0f} requests, connection reuse {share:.1f}%"
            f" ({f['reused']:.0f} reused, {f['created']:.0f} opened)"
        )
    return lines


_DATA_SUMS = (
    "hits", "misses", "records_generated", "faker_calls",
    "data_generation_time", "data_retrieval_time",
)  # fmt: skip


def data_line(sets: Sequence[Mapping[str, Any]]) -> str | None:
    """``test data: 12 hits / 3 misses (80.0%), ... generation 1.20 s vs retrieval 4.0 ms``."""
    found = [s["data"] for s in sets if isinstance(s.get("data"), dict)]
    if not found:
        return None
    d = {k: sum(_num(x.get(k)) for x in found) for k in _DATA_SUMS}
    lookups = d["hits"] + d["misses"]
    if not lookups and not d["records_generated"]:
        return None
    rate = percent(d["hits"], lookups)
    return (
        f"test data: {d['hits']:.0f} hits / {d['misses']:.0f} misses"
        f" ({rate:.1f}%), {d['records_generated']:.0f} records generated,"
        f" {d['faker_calls']:.0f} Faker calls, generation {duration(d['data_generation_time'])}"
        f" vs retrieval {duration(d['data_retrieval_time'])}"
    )


def budget_rows(sets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every API latency budget row, with ``api`` (and ``worker`` index when merged)."""
    rows = []
    for index, stats in enumerate(sets):
        budgets = stats.get("api_budgets")
        if not isinstance(budgets, dict):
            continue
        for api, entries in sorted(budgets.items()):
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and "endpoint" in entry:
                    rows.append({**entry, "api": str(api), "worker": index})
    return rows


def budget_verdict(row: Mapping[str, Any]) -> str:
    """``pass``, ``FAIL`` or ``no requests`` for one budget row."""
    passed = row.get("passed")
    return "no requests" if passed is None else ("pass" if passed else "FAIL")


def budget_lines(sets: Sequence[Mapping[str, Any]]) -> list[str]:
    """The API latency budgets section of the text report (empty when none)."""
    rows = budget_rows(sets)
    if not rows:
        return []
    verdicts = [budget_verdict(r) for r in rows]
    lines = [
        f"API latency budgets: {verdicts.count('pass')} passed, {verdicts.count('FAIL')} failed"
        + (f", {verdicts.count('no requests')} without requests" if "no requests" in verdicts
           else "")
    ]  # fmt: skip
    for row, verdict in zip(rows, verdicts, strict=True):
        p95 = row.get("p95_ms")
        shown = f"p95 {_num(p95):.1f} ms" if p95 is not None else "p95 -"
        lines.append(
            f"  {verdict:<11} {short(row['api'], 30)} {short(row['endpoint'], 50)}: {shown}"
            f" (budget {_num(row.get('budget_ms')):.1f} ms)"
        )
    return lines


# -- verdict -----------------------------------------------------------------------------------


def counts_line(verdict: Verdict) -> str:
    """``1 regression of 14 compared; 3 not comparable (2 new, 1 gone)``, or no baseline."""
    if verdict.baseline is None:
        return "no baseline: nothing compared (`qhub baseline set` pins one)"
    c = verdict.counts
    parts = [f"{plural(c.regressions, 'regression')} of {c.compared} compared"]
    if c.improvements:
        parts.append(f"{plural(c.improvements, 'improvement')}")
    if c.not_comparable:
        why = ", ".join(
            f"{n} {label}"
            for n, label in (
                (c.new, "new"),
                (c.gone, "gone"),
                (c.too_few_samples, "too few samples"),
            )
            if n
        )
        parts.append(f"{c.not_comparable} not comparable ({why})")
    return "; ".join(parts)


def baseline_label(verdict: Verdict) -> str:
    b = verdict.baseline
    if b is None:
        return "no baseline"
    return f"{b.source} ({plural(len(b.runs), 'run')})"


def change_text(c: Comparison) -> str:
    """``+210.0%  15.10 -> 46.80 ms``."""
    pct = f"{c.change_percent:+.1f}%" if c.change_percent is not None else "new cost"
    return f"{pct}  {c.baseline_ms or 0:.2f} -> {c.current_ms or 0:.2f} ms"


def comparison_line(c: Comparison, width: int = 60) -> str:
    """One line per compared item, for the terminal and ``qhub check``."""
    tag = {"regression": "SLOWER", "improvement": "faster"}.get(c.verdict, c.verdict)
    where = f" [{short(c.location, 50)}]" if c.location else ""
    return (
        f"{tag} {change_text(c)}  {KIND_LABELS.get(c.kind, c.kind)}: {short(c.name, width)}"
        f"{where} ({c.method})"
    )
