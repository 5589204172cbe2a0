"""qhub's own time spent inside the user's spans, so it can be charged to qhub.

qhub builds its heavy parts on first use (the API client and ``requests``, the cache,
Faker, JSON-Schema validators), which usually happens inside the user's first step. That
time is qhub's, not the step's: code doing such work runs it under :func:`charged`, and the
profiler subtracts what was charged during a step from the step and reports it as qhub's
overhead. Nested charges count once. Reading the running total is one global read, cheap
enough for every step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter_ns

_total_ns = 0
_parts: dict[str, int] = {}
_lock = threading.Lock()
_local = threading.local()


@contextmanager
def charged(what: str) -> Iterator[None]:
    """Charge the ``with`` block's wall time to qhub under the label ``what``."""
    if getattr(_local, "depth", 0):
        yield
        return
    _local.depth = 1
    start = perf_counter_ns()
    try:
        yield
    finally:
        elapsed = perf_counter_ns() - start
        _local.depth = 0
        global _total_ns
        with _lock:
            _total_ns += elapsed
            _parts[what] = _parts.get(what, 0) + elapsed


def charged_ns() -> int:
    """Total time charged to qhub so far in this process, in nanoseconds."""
    return _total_ns


def charged_parts() -> dict[str, int]:
    """Charged time per label (``"context.api"``, ``"jsonschema import"``...), in ns."""
    with _lock:
        return dict(_parts)
