"""Timing of step-module loading, which behave itself never reports.

behave executes each step file through ``behave.runner_util.exec_file``. Importing
``qhub.behave`` (which a user's ``environment.py`` does, and environment.py is loaded just
before the step modules) wraps that function once, so every step file's load time is
recorded in behave's own load order.
"""

from __future__ import annotations

import time
from typing import Any

_timings: list[tuple[str, int]] = []
_patched = False


def _timed(original: Any) -> Any:
    def exec_file(filename: str, globals_: Any = None, locals_: Any = None) -> Any:
        start = time.perf_counter_ns()
        try:
            return original(filename, globals_, locals_)
        finally:
            _timings.append((str(filename), time.perf_counter_ns() - start))

    exec_file.__wrapped__ = original  # type: ignore[attr-defined]
    return exec_file


def start_timing_step_modules() -> None:
    """Wrap behave's step-file loader (idempotent)."""
    global _patched
    if _patched:
        return
    try:
        from behave import runner_util
    except ImportError:  # pragma: no cover - behave is a dependency
        return
    runner_util.exec_file = _timed(runner_util.exec_file)
    _patched = True


def step_module_timings() -> list[tuple[str, int]]:
    """(path, load time in ns) for each step file loaded so far, in load order."""
    return list(_timings)
