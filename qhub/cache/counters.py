"""Counters of one cache manager (one namespace), cheap to update, summed on demand.

Hot counters (hits, misses, sets, and the call tickers that pick latency samples) are
``itertools.count`` objects: ``next()`` on one is a single C call that no other thread can
interrupt, so counts stay exact without a lock. Bulk updates (``get_many`` hits, deletes,
errors...) go through a lock into plain integers; :meth:`CacheStats.raw` adds both.

Latency is **sampled**: the first and then every :data:`SAMPLE_EVERY`-th ``get``/``set``
call is timed (``get_many``/``set_many`` always are), and the reported means are over the
timed calls. Timing every call cost more than the rest of a memory-backend lookup.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from qhub._figures import percent

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
SAMPLE_EVERY = 16
"""One ``get``/``set`` call in this many is timed for the mean latencies."""
SAMPLE_MASK = SAMPLE_EVERY - 1


def _value(counter: itertools.count[int]) -> int:
    """How many times ``next()`` was called on a counter started at 0."""
    return int(repr(counter)[6:-1])  # "count(N)": the only public way to read it


class CacheStats:
    """Exact, thread-safe counters and sampled latency sums of one manager."""

    hit: Callable[[], int]
    """Count one hit (lock-free)."""
    miss: Callable[[], int]
    """Count one miss (lock-free)."""
    set_one: Callable[[], int]
    """Count one stored value (lock-free)."""
    get_tick: Callable[[], int]
    """Number this ``get`` call; it is timed when ``get_tick() & SAMPLE_MASK == 0``."""
    set_tick: Callable[[], int]
    """Number this ``set`` call; it is timed when ``set_tick() & SAMPLE_MASK == 0``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            counts = {name: itertools.count() for name in ("hits", "misses", "sets")}
            self._counts = counts
            self._bulk = dict.fromkeys((*COUNTERS, *_TIMERS), 0)
            self.hit = counts["hits"].__next__
            self.miss = counts["misses"].__next__
            self.set_one = counts["sets"].__next__
            self.get_tick = itertools.count().__next__
            self.set_tick = itertools.count().__next__

    def got(self, hits: int, misses: int, elapsed_ns: int | None) -> None:
        """Count a lookup of several keys; ``elapsed_ns`` None when it was not timed."""
        with self._lock:
            bulk = self._bulk
            bulk["hits"] += hits
            bulk["misses"] += misses
            if elapsed_ns is not None:
                bulk["gets"] += 1
                bulk["get_ns"] += elapsed_ns

    def stored(self, count: int, elapsed_ns: int | None) -> None:
        """Count a store of several values; ``elapsed_ns`` None when it was not timed."""
        with self._lock:
            bulk = self._bulk
            bulk["sets"] += count
            if elapsed_ns is not None:
                bulk["set_calls"] += 1
                bulk["set_ns"] += elapsed_ns

    def sample_get(self, elapsed_ns: int) -> None:
        """Record the duration of one timed ``get``."""
        with self._lock:
            self._bulk["gets"] += 1
            self._bulk["get_ns"] += elapsed_ns

    def sample_set(self, elapsed_ns: int) -> None:
        """Record the duration of one timed ``set``."""
        with self._lock:
            self._bulk["set_calls"] += 1
            self._bulk["set_ns"] += elapsed_ns

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._bulk[name] += n

    def raw(self) -> dict[str, int]:
        with self._lock:
            out = dict(self._bulk)
            for name, counter in self._counts.items():
                out[name] += _value(counter)
        return out

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
    out["hit_rate_percent"] = percent(total["hits"], lookups)
    out["mean_get_latency_ms"] = (
        round(total["get_ns"] / total["gets"] / 1e6, 6) if total["gets"] else 0.0
    )
    out["mean_set_latency_ms"] = (
        round(total["set_ns"] / total["set_calls"] / 1e6, 6) if total["set_calls"] else 0.0
    )
    return out
