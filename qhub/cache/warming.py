"""Cache warming: run registered value builders, store their results, report each one."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from qhub._record import frozen_record
from qhub._redact import redact_text

MAX_WORKERS = 4


class Store(Protocol):
    """What warming needs from a cache: :class:`qhub.cache.CacheManager` fits."""

    def set(self, key: str, value: Any, ttl: float | None = None) -> bool: ...


@frozen_record(slots=False)
class Warmer:
    """One warming function: ``fn()`` is stored under ``key`` for ``ttl`` seconds."""

    name: str
    fn: Callable[[], Any]
    key: str
    ttl: float | None


def _run_one(cache: Store, warmer: Warmer) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        value = warmer.fn()
    except Exception as exc:  # reported, never raised: warming must not fail a run
        return {
            "ok": False,
            "key": warmer.key,
            "seconds": round(time.perf_counter() - started, 6),
            "error": redact_text(f"{type(exc).__name__}: {exc}"),
            "traceback": redact_text(traceback.format_exc(limit=5)),
        }
    computed = time.perf_counter() - started
    stored = cache.set(warmer.key, value, warmer.ttl)
    return {
        "ok": stored,
        "key": warmer.key,
        "seconds": round(time.perf_counter() - started, 6),
        "compute_seconds": round(computed, 6),
        "error": None if stored else "value could not be stored (see cache errors)",
    }


def run_warmers(cache: Store, warmers: list[Warmer], *, enabled: bool) -> dict[str, Any]:
    """Run ``warmers`` on up to :data:`MAX_WORKERS` threads; one result row per function."""
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    if enabled and warmers:
        if len(warmers) == 1:
            results[warmers[0].name] = _run_one(cache, warmers[0])
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(warmers))) as pool:
                futures = {w.name: pool.submit(_run_one, cache, w) for w in warmers}
                results = {name: future.result() for name, future in futures.items()}
    return {
        "enabled": enabled,
        "functions": results,
        "succeeded": sum(1 for r in results.values() if r["ok"]),
        "failed": sum(1 for r in results.values() if not r["ok"]),
        "total_seconds": round(time.perf_counter() - started, 6),
    }
