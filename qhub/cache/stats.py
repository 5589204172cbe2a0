"""Counters of one cache manager (one namespace), cheap to update, summed on demand."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

COUNTERS = (
    "hits",
    "misses",
    "sets",
    "deletes",
    "evictions",
    "expirations",
    "errors",
    "lock_timeouts",
)
_TIMERS = ("gets", "get_ns", "set_calls", "set_ns")


class CacheStats:
    """Thread-safe counters and latency sums; :meth:`as_dict` derives rates and means."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.hits = self.misses = self.sets = self.deletes = 0
            self.evictions = self.expirations = self.errors = self.lock_timeouts = 0
            self.gets = self.get_ns = self.set_calls = self.set_ns = 0

    # got/stored run on every call: explicit acquire/release is cheaper than ``with``
    # (nothing between them can raise).
    def got(self, hits: int, misses: int, elapsed_ns: int) -> None:
        lock = self._lock
        lock.acquire()
        self.hits += hits
        self.misses += misses
        self.gets += 1
        self.get_ns += elapsed_ns
        lock.release()

    def stored(self, count: int, elapsed_ns: int) -> None:
        lock = self._lock
        lock.acquire()
        self.sets += count
        self.set_calls += 1
        self.set_ns += elapsed_ns
        lock.release()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def raw(self) -> dict[str, int]:
        with self._lock:
            return {name: getattr(self, name) for name in (*COUNTERS, *_TIMERS)}

    def as_dict(self) -> dict[str, Any]:
        return summarize([self.raw()])


def summarize(raws: Iterable[dict[str, int]]) -> dict[str, Any]:
    """Sum raw counters and derive ``hit_rate_percent`` and mean latencies (ms)."""
    total = dict.fromkeys((*COUNTERS, *_TIMERS), 0)
    for raw in raws:
        for name, value in raw.items():
            total[name] += value
    lookups = total["hits"] + total["misses"]
    out: dict[str, Any] = {name: total[name] for name in COUNTERS}
    out["hit_rate_percent"] = round(100.0 * total["hits"] / lookups, 2) if lookups else 0.0
    out["mean_get_latency_ms"] = (
        round(total["get_ns"] / total["gets"] / 1e6, 6) if total["gets"] else 0.0
    )
    out["mean_set_latency_ms"] = (
        round(total["set_ns"] / total["set_calls"] / 1e6, 6) if total["set_calls"] else 0.0
    )
    return out
