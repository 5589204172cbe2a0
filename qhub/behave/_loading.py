"""What happens before qhub is installed: step-module loading and the start of before_all.

behave executes each step file through ``behave.runner_util.exec_file``. Importing
``qhub.behave`` (which a user's ``environment.py`` does, and environment.py is loaded just
before the step modules) wraps that function once, so every step file's load time is
recorded in behave's own load order. It also notes when behave starts the ``before_all``
hook, so the part of the user's ``before_all`` that runs before ``install(context)`` is
counted as the user's hook, not as start-up.
"""

from __future__ import annotations

import time
from typing import Any

_timings: list[tuple[str, int]] = []
_patched = False
_BEFORE_ALL_ATTR = "_qhub_before_all_started_ns"


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
    _note_before_all()
    _patched = True


def _note_before_all() -> None:
    """Wrap ``Runner.run_hook`` (the class attribute) to note the start of ``before_all``."""
    from behave.runner import Runner

    original = Runner.run_hook

    def run_hook(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "before_all":
            setattr(self, _BEFORE_ALL_ATTR, time.perf_counter_ns())
        return original(self, name, *args, **kwargs)

    run_hook.__wrapped__ = original  # type: ignore[attr-defined]
    Runner.run_hook = run_hook


def before_all_started_ns(runner: Any) -> int | None:
    """When ``runner`` started the ``before_all`` hook (``perf_counter_ns``), if seen."""
    value = getattr(runner, _BEFORE_ALL_ATTR, None)
    return value if isinstance(value, int) else None


def step_module_timings() -> list[tuple[str, int]]:
    """(path, load time in ns) for each step file loaded so far, in load order."""
    return list(_timings)
