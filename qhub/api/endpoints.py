"""Per-endpoint latency: grouping requests into endpoints, and percentiles per endpoint.

An endpoint is ``"METHOD /route"``. The route is the template the caller gave
(``route="/pets/{id}"``), else the request path without its query string, with numeric
and UUID segments collapsed to ``{id}`` so that IDs do not explode the table.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from qhub._figures import percentile_sorted

_ID_SEGMENT = re.compile(
    r"\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_CACHE_LIMIT = 4096
_route_cache: dict[str, str] = {}


def route_of(path: str) -> str:
    """``/pets/42?x=1`` -> ``/pets/{id}``; absolute URLs are reduced to their path."""
    cached = _route_cache.get(path)
    if cached is not None:
        return cached
    bare = urlsplit(path).path if "://" in path else path.split("?", 1)[0].split("#", 1)[0]
    if not bare.startswith("/"):
        bare = "/" + bare
    route = "/".join("{id}" if _ID_SEGMENT.fullmatch(s) else s for s in bare.split("/"))
    if len(_route_cache) >= _CACHE_LIMIT:
        _route_cache.clear()
    _route_cache[path] = route
    return route


def endpoint_key(method: str, path: str, route: str | None = None) -> str:
    """The endpoint a request belongs to, e.g. ``GET /pets/{id}``."""
    return f"{method.upper()} {route if route is not None else route_of(path)}"


@dataclass
class _Samples:
    durations_ms: list[float] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)


class EndpointStats:
    """Latency samples per endpoint, thread-safe; metrics computed when asked.

    Recording a request takes no lock: it appends to two lists, and ``list.append`` is
    atomic in CPython, so no sample is lost however many threads record at once. Only a
    new endpoint is added under the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, _Samples] = {}

    def record(self, key: str, duration_ms: float, status: int | None) -> None:
        """One finished request: ``status`` None means no response (transport error).

        Transport errors and 5xx statuses count as errors.
        """
        samples = self._by_key.get(key)
        if samples is None:
            with self._lock:
                samples = self._by_key.setdefault(key, _Samples())
        samples.durations_ms.append(duration_ms)
        samples.statuses.append(status)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per endpoint, busiest first."""
        with self._lock:
            snapshot = [
                (k, sorted(s.durations_ms), list(s.statuses)) for k, s in self._by_key.items()
            ]
        rows = [_row(k, d, *_count_statuses(st)) for k, d, st in snapshot]
        rows.sort(key=lambda r: (-r["count"], r["endpoint"]))
        return rows

    def durations(self, keys: Iterable[str]) -> list[float]:
        """Sorted durations of several endpoints together (for method-less budgets)."""
        with self._lock:
            out = [d for k in keys if k in self._by_key for d in self._by_key[k].durations_ms]
        return sorted(out)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._by_key)


def _count_statuses(statuses: list[int | None]) -> tuple[int, dict[int, int]]:
    """Errors (no response or a 5xx) and the count per status code."""
    counts = Counter(statuses)
    errors = counts.pop(None, 0)
    errors += sum(n for status, n in counts.items() if status is not None and status >= 500)
    return errors, {status: n for status, n in counts.items() if status is not None}


def _row(key: str, ordered: list[float], errors: int, statuses: dict[int, int]) -> dict[str, Any]:
    count = len(ordered)
    return {
        "endpoint": key,
        "count": count,
        "mean_ms": round(sum(ordered) / count, 3) if count else 0.0,
        "p50_ms": round(percentile_sorted(ordered, 50), 3),
        "p95_ms": round(percentile_sorted(ordered, 95), 3),
        "p99_ms": round(percentile_sorted(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3) if count else 0.0,
        "errors": errors,
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
    }


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def budget_report(budgets: dict[str, float], stats: EndpointStats) -> list[dict[str, Any]]:
    """p95 of each budgeted endpoint against its budget.

    A budget key is ``"METHOD /route"`` or just ``"/route"`` (all methods together).
    ``passed`` is None when the endpoint saw no request in this run.
    """
    known = stats.keys()
    rows = []
    for raw_key, budget in budgets.items():
        method, _, rest = raw_key.strip().partition(" ")
        if method.upper() in _METHODS and rest:
            key = f"{method.upper()} {rest.strip()}"
            keys = [key]
        else:
            key = raw_key.strip()
            keys = [k for k in known if k.partition(" ")[2] == key]
        ordered = stats.durations(keys)
        p95 = round(percentile_sorted(ordered, 95), 3) if ordered else None
        rows.append({
            "endpoint": key,
            "budget_ms": float(budget),
            "p95_ms": p95,
            "count": len(ordered),
            "passed": None if p95 is None else p95 <= budget,
        })
    return rows
