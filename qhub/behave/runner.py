"""``behave --runner=qhub.behave:Runner``: qhub without editing ``environment.py``.

It also measures what ``install()`` cannot see from inside ``before_all``: loading of
environment.py, of the step modules, and feature parsing.
"""

from __future__ import annotations

import time
from typing import Any

from behave.runner import Runner as _BehaveRunner

from qhub.behave._install import install


class Runner(_BehaveRunner):  # type: ignore[misc]
    """behave's standard runner with qhub installed before the user's ``before_all``."""

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._qhub_phases: dict[str, int] = {}
        self._qhub_steps_loaded_at: int | None = None

    def load_hooks(self, filename: str | None = None) -> None:
        started = time.perf_counter_ns()
        super().load_hooks(filename)
        self._qhub_phases["load_hooks"] = time.perf_counter_ns() - started
        user_before_all = self.hooks.get("before_all")
        runner = self

        def before_all(context: Any) -> None:
            entered = time.perf_counter_ns()
            phases = dict(runner._qhub_phases)
            if runner._qhub_steps_loaded_at is not None:
                phases["parse_features"] = entered - runner._qhub_steps_loaded_at
            session = install(context, _mode="runner", _phases=phases)
            start = time.perf_counter_ns()
            failed = True
            try:
                if user_before_all is not None:
                    user_before_all(context)
                failed = False
            finally:
                if session.observer is not None:
                    session.observer.on_hook(
                        "before_all", None, start, time.perf_counter_ns(), failed
                    )

        self.hooks["before_all"] = before_all

    def load_step_definitions(self, extra_step_paths: Any = None) -> None:
        started = time.perf_counter_ns()
        super().load_step_definitions(extra_step_paths)
        now = time.perf_counter_ns()
        self._qhub_phases["load_step_definitions"] = now - started
        self._qhub_steps_loaded_at = now
