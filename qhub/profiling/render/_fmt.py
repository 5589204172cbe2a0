"""Small formatting helpers shared by the text and markdown renderers."""

from __future__ import annotations

from typing import Any


def seconds(ms: float) -> str:
    return f"{ms / 1000:.3f} s"


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
