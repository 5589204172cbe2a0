"""Instrument behave's hook dispatch so qhub observes every hook, step, scenario, feature.

qhub does not touch the user's hook table. It wraps the runner's ``run_hook`` (which
behave calls for ``before_step``/``after_step`` and, through the next one, for every user
hook) and ``run_hook_with_capture`` (which behave calls for the feature, rule, scenario and
``after_all`` hooks, even when the user defines none). The user's hooks therefore run
exactly as in plain behave: same order, same arguments, same capture, and a failing hook
is reported by behave itself. Steps pay no hook-dispatch cost for qhub: when the user has
no ``before_step``/``after_step``, nothing of behave's hook machinery runs for them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, Protocol


class Observer(Protocol):
    """What the instrumentation reports to (implemented by the profiler)."""

    def on_hook(self, hook: str, target: Any, start_ns: int, end_ns: int, failed: bool) -> None:
        """A user hook ran from ``start_ns`` to ``end_ns`` (perf_counter_ns)."""

    def on_start(self, kind: str, target: Any, ns: int) -> None:
        """The body of a feature/rule/scenario/step starts (its before-hook returned)."""

    def on_end(self, kind: str, target: Any, ns: int) -> None:
        """The body ended (its after-hook is about to start)."""

    def mark_interrupted(self) -> None:
        """behave aborted the run (Ctrl-C or a failing before_all)."""


_BEFORE = {f"before_{kind}": kind for kind in ("feature", "rule", "scenario")}
_AFTER = {f"after_{kind}": kind for kind in ("feature", "rule", "scenario")}


def instrument_runner(
    runner: Any,
    observer: Observer | None,
    shutdown: Callable[[], None],
    *,
    before_all_started_ns: int | None = None,
) -> None:
    """Wrap ``runner.run_hook`` and ``runner.run_hook_with_capture`` once.

    ``shutdown`` runs after the user's ``after_all`` (also when it failed).
    ``before_all_started_ns``: with ``install()`` the user's ``before_all`` is already
    running; it is reported as ending when the first feature starts.
    """
    if getattr(runner, "_qhub_instrumented", False):
        return
    runner._qhub_instrumented = True
    hooks = runner.hooks
    run_hook = runner.run_hook
    run_with_capture = runner.run_hook_with_capture

    if observer is None:

        def capture_only(hook_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return run_with_capture(hook_name, *args, **kwargs)
            finally:
                if hook_name == "after_all":
                    shutdown()

        runner.run_hook_with_capture = capture_only
        return

    pending_before_all = before_all_started_ns
    on_hook: Callable[..., None] = observer.on_hook
    on_start: Callable[..., None] = observer.on_start
    on_end: Callable[..., None] = observer.on_end

    def _ignore(*_args: Any) -> None:
        return None

    def profiler_failed(exc: Exception) -> None:
        """A bug in qhub's bookkeeping must never fail the user's run: stop observing."""
        nonlocal on_hook, on_start, on_end
        on_hook = on_start = on_end = _ignore
        print(
            f"qhub: warning: profiling stopped for this run after an internal error: "
            f"{type(exc).__name__}: {exc}",
            file=sys.__stderr__ or sys.stderr,
        )

    def timed_run_hook(hook_name: str, *args: Any) -> Any:
        if hook_name == "before_step":
            if hook_name in hooks:
                start = perf_counter_ns()
                passed = run_hook(hook_name, *args)
                end = perf_counter_ns()
            else:
                passed, start = True, 0
            try:
                if start:
                    on_hook(hook_name, args[0], start, end, not passed)
                on_start("step", args[0], perf_counter_ns())
            except Exception as exc:  # see profiler_failed
                profiler_failed(exc)
            return passed
        if hook_name == "after_step":
            try:
                on_end("step", args[0], perf_counter_ns())
            except Exception as exc:  # see profiler_failed
                profiler_failed(exc)
            if hook_name not in hooks:
                return True
        elif hook_name not in hooks:
            return run_hook(hook_name, *args)
        start = perf_counter_ns()
        passed = run_hook(hook_name, *args)
        end = perf_counter_ns()
        target = args[0] if args and "all" not in hook_name else None
        try:
            on_hook(hook_name, target, start, end, not passed)
        except Exception as exc:  # see profiler_failed
            profiler_failed(exc)
        return passed

    def close_before_all() -> None:
        nonlocal pending_before_all
        if pending_before_all is not None:
            on_hook("before_all", None, pending_before_all, perf_counter_ns(), False)
            pending_before_all = None

    def timed_with_capture(hook_name: str, *args: Any, **kwargs: Any) -> Any:
        kind = _BEFORE.get(hook_name)
        if kind is not None:
            passed = run_with_capture(hook_name, *args, **kwargs)
            try:
                close_before_all()
                on_start(kind, args[0], perf_counter_ns())
            except Exception as exc:  # see profiler_failed
                profiler_failed(exc)
            return passed
        kind = _AFTER.get(hook_name)
        if kind is not None:
            try:
                on_end(kind, args[0], perf_counter_ns())
            except Exception as exc:  # see profiler_failed
                profiler_failed(exc)
            return run_with_capture(hook_name, *args, **kwargs)
        if hook_name != "after_all":
            return run_with_capture(hook_name, *args, **kwargs)
        try:
            close_before_all()
            if getattr(runner, "aborted", False):
                observer.mark_interrupted()
        except Exception as exc:  # see profiler_failed
            profiler_failed(exc)
        try:
            return run_with_capture(hook_name, *args, **kwargs)
        finally:
            shutdown()

    runner.run_hook = timed_run_hook
    runner.run_hook_with_capture = timed_with_capture
