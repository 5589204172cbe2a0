"""Small formatting helpers shared by the text and markdown renderers."""

from __future__ import annotations

from typing import Any


def seconds(ms: float) -> str:
    return f"{ms / 1000:.3f} s"


def duration(s: float) -> str:
    """A duration in seconds, shown in ms below one second (``3.1 ms``, ``1.20 s``)."""
    return f"{s:.2f} s" if s >= 1 else f"{s * 1000:.1f} ms"


def short(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cache_line(stats: dict[str, Any]) -> str | None:
    cache = stats.get("cache")
    if not isinstance(cache, dict) or "hit_rate_percent" not in cache:
        return None
    return (
        f"cache hit rate {float(cache['hit_rate_percent']):.1f}% "
        f"({cache.get('hits', '?')} hits, {cache.get('misses', '?')} misses)"
    )


def pool_lines(stats: dict[str, Any]) -> list[str]:
    api = stats.get("api")
    if not isinstance(api, dict):
        return []
    lines = []
    for name, pool in sorted(api.items()):
        if not isinstance(pool, dict):
            continue
        created = pool.get("connections_created", 0) or 0
        reused = pool.get("connections_reused", 0) or 0
        share = 100.0 * reused / (created + reused) if (created + reused) else 0.0
        lines.append(
            f"API {name}: {pool.get('requests', '?')} requests, connection reuse {share:.1f}%"
            f" ({reused} reused, {created} opened)"
        )
    return lines


def change_line(c: dict[str, Any]) -> str:
    return (
        f"{c['change_percent']:+.1f}%  {c['baseline_median_ms']:.3f}"
        f" -> {c['current_median_ms']:.3f}"
        f" ms (p={c['p_value']:.2g}, n={c['baseline_samples']}/{c['current_samples']})"
        f"  {c['kind']}: {short(c['name'])} [{c['key']}]"
    )


_DATA_SUMS = (
    "hits", "misses", "records_generated", "faker_calls",
    "data_generation_time", "data_retrieval_time",
)  # fmt: skip


def stats_sets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's ``stats`` dict, or each worker's in a merged report."""
    stats = report.get("stats") or {}
    if report["run"].get("workers", 1) > 1:
        return [s for s in stats.values() if isinstance(s, dict)]
    return [stats] if isinstance(stats, dict) else []


def data_totals(sets: list[dict[str, Any]]) -> dict[str, float] | None:
    """Test-data metrics summed over workers (hit rate recomputed), or ``None``."""
    found = [s["data"] for s in sets if isinstance(s.get("data"), dict)]
    if not found:
        return None
    total = {k: sum(float(d.get(k) or 0) for d in found) for k in _DATA_SUMS}
    lookups = total["hits"] + total["misses"]
    total["hit_rate_percent"] = 100.0 * total["hits"] / lookups if lookups else 0.0
    return total


def data_line(sets: list[dict[str, Any]]) -> str | None:
    """``test data: 12 hits / 3 misses (80.0%), ... generation 1.20 s vs retrieval 4.0 ms``."""
    d = data_totals(sets)
    if d is None:
        return None
    return (
        f"test data: {d['hits']:.0f} hits / {d['misses']:.0f} misses"
        f" ({d['hit_rate_percent']:.1f}%), {d['records_generated']:.0f} records generated,"
        f" {d['faker_calls']:.0f} Faker calls, generation {duration(d['data_generation_time'])}"
        f" vs retrieval {duration(d['data_retrieval_time'])}"
    )


def budget_rows(sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def budget_verdict(row: dict[str, Any]) -> str:
    """``pass``, ``FAIL`` or ``no requests`` for one budget row."""
    passed = row.get("passed")
    return "no requests" if passed is None else ("pass" if passed else "FAIL")


def budget_lines(sets: list[dict[str, Any]]) -> list[str]:
    """The API latency budgets section of the terminal summary (empty when none)."""
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
        shown = f"p95 {float(p95):.1f} ms" if p95 is not None else "p95 -"
        lines.append(
            f"  {verdict:<11} {row['api']} {short(str(row['endpoint']), 50)}: {shown}"
            f" (budget {float(row.get('budget_ms') or 0):.1f} ms)"
        )
    return lines
