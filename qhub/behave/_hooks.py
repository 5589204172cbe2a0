"""Instrument behave's hook dispatch so qhub observes every hook, step, scenario, feature.

qhub does not touch the user's hook table; it wraps the runner's dispatch methods, which
behave calls for every hook whether or not the user defines it. The user's hooks therefore
run exactly as in plain behave: same order, same arguments, same capture, and a failing
hook is reported by behave itself. Two dispatch shapes exist:

- behave 1.2.7 / 1.3: ``run_hook(name, *args)`` (returns passed) for ``before_step`` and
  ``after_step``, and ``run_hook_with_capture`` for the feature, rule, scenario and
  ``after_all`` hooks. Steps pay no hook-dispatch cost for qhub when the user has no step
  hooks.
- behave 1.2.6: ``run_hook(name, context, *args)`` (returns nothing; a failure shows in
  ``runner.hook_failures``) for every hook. There are no rules.

:class:`_Probe` holds what both shapes share: the observer callbacks, the pending
``before_all`` span and the switch that stops profiling after an internal error.
"""

from __future__ import annotations

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

    def on_step_start(self, target: Any, ns: int) -> None:
        """``on_start("step", ...)`` without the dispatch: called for every step."""

    def on_step_end(self, target: Any, ns: int) -> None:
        """``on_end("step", ...)`` without the dispatch: called for every step."""

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
    """Wrap the runner's hook dispatch once (for the behave version in use).

    ``shutdown`` runs after the user's ``after_all`` (also when it failed).
    ``before_all_started_ns``: with ``install()`` the user's ``before_all`` is already
    running; it is reported as ending when the first feature starts.
    """
    if getattr(runner, "_qhub_instrumented", False):
        return
    runner._qhub_instrumented = True
    probe = _Probe(runner, observer, before_all_started_ns)
    if hasattr(runner, "run_hook_with_capture"):
        _wrap_dispatch_13(runner, probe, shutdown)
    else:
        _wrap_dispatch_126(runner, probe, shutdown)


def _ignore(*_args: Any) -> None:
    return None


class _Probe:
    """The observer's callbacks, guarded: a bug in qhub's bookkeeping never fails a run."""

    def __init__(
        self, runner: Any, observer: Observer | None, before_all_started_ns: int | None
    ) -> None:
        self.runner = runner
        self.observer = observer
        self.pending_before_all = before_all_started_ns
        self.on_hook: Callable[..., None] = _ignore
        self.on_start: Callable[..., None] = _ignore
        self.on_end: Callable[..., None] = _ignore
        self.step_start: Callable[[Any, int], None] = _ignore
        self.step_end: Callable[[Any, int], None] = _ignore
        if observer is not None:
            self.on_hook = observer.on_hook
            self.on_start = observer.on_start
            self.on_end = observer.on_end
            self.step_start = observer.on_step_start
            self.step_end = observer.on_step_end

    @property
    def active(self) -> bool:
        return self.on_start is not _ignore

    def failed(self, exc: Exception) -> None:
        """Stop observing for the rest of the run, with one warning."""
        self.on_hook = self.on_start = self.on_end = self.step_start = self.step_end = _ignore
        from qhub._warn import warn

        warn(
            f"profiling stopped for this run after an internal error: "
            f"{type(exc).__name__}: {exc}"
        )

    def hook(self, name: str, target: Any, start: int, end: int, failed: bool) -> None:
        try:
            self.on_hook(name, target, start, end, failed)
        except Exception as exc:
            self.failed(exc)

    def start(self, kind: str, target: Any) -> None:
        try:
            if kind != "step":
                self.close_before_all()
            self.on_start(kind, target, perf_counter_ns())
        except Exception as exc:
            self.failed(exc)

    def end(self, kind: str, target: Any) -> None:
        try:
            self.on_end(kind, target, perf_counter_ns())
        except Exception as exc:
            self.failed(exc)

    def close_before_all(self) -> None:
        if self.pending_before_all is not None:
            started, self.pending_before_all = self.pending_before_all, None
            self.on_hook("before_all", None, started, perf_counter_ns(), False)

    def ending(self) -> None:
        """``after_all`` is about to run: close the open spans, note an aborted run."""
        try:
            self.close_before_all()
            if getattr(self.runner, "aborted", False) and self.observer is not None:
                self.observer.mark_interrupted()
        except Exception as exc:
            self.failed(exc)


def _wrap_dispatch_13(runner: Any, probe: _Probe, shutdown: Callable[[], None]) -> None:
    """behave 1.2.7/1.3: ``run_hook(name, *args) -> passed`` and ``run_hook_with_capture``."""
    hooks = runner.hooks
    run_hook = runner.run_hook
    run_with_capture = runner.run_hook_with_capture

    if probe.observer is None:

        def capture_only(hook_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return run_with_capture(hook_name, *args, **kwargs)
            finally:
                if hook_name == "after_all":
                    shutdown()

        runner.run_hook_with_capture = capture_only
        return

    # before_step/after_step run for every step: the observer's step callbacks are called
    # directly (one Python frame each), guarded here
    def timed_run_hook(hook_name: str, *args: Any) -> Any:
        if hook_name == "before_step":
            if hook_name in hooks:
                start = perf_counter_ns()
                passed = run_hook(hook_name, *args)
                probe.hook(hook_name, args[0], start, perf_counter_ns(), not passed)
            else:
                passed = True
            try:
                probe.step_start(args[0], perf_counter_ns())
            except Exception as exc:
                probe.failed(exc)
            return passed
        if hook_name == "after_step":
            try:
                probe.step_end(args[0], perf_counter_ns())
            except Exception as exc:
                probe.failed(exc)
            if hook_name not in hooks:
                return True
        elif hook_name not in hooks:
            return run_hook(hook_name, *args)
        start = perf_counter_ns()
        passed = run_hook(hook_name, *args)
        end = perf_counter_ns()
        target = args[0] if args and "all" not in hook_name else None
        probe.hook(hook_name, target, start, end, not passed)
        return passed

    def timed_with_capture(hook_name: str, *args: Any, **kwargs: Any) -> Any:
        kind = _BEFORE.get(hook_name)
        if kind is not None:
            passed = run_with_capture(hook_name, *args, **kwargs)
            probe.start(kind, args[0])
            return passed
        kind = _AFTER.get(hook_name)
        if kind is not None:
            probe.end(kind, args[0])
            return run_with_capture(hook_name, *args, **kwargs)
        if hook_name != "after_all":
            return run_with_capture(hook_name, *args, **kwargs)
        probe.ending()
        try:
            return run_with_capture(hook_name, *args, **kwargs)
        finally:
            shutdown()

    runner.run_hook = timed_run_hook
    runner.run_hook_with_capture = timed_with_capture


def _wrap_dispatch_126(runner: Any, probe: _Probe, shutdown: Callable[[], None]) -> None:
    """behave 1.2.6: every hook goes through ``run_hook(name, context, *args)``."""
    hooks = runner.hooks
    run_hook = runner.run_hook

    def user_hook(hook_name: str, context: Any, args: tuple[Any, ...]) -> None:
        if hook_name not in hooks or getattr(runner.config, "dry_run", False):
            run_hook(hook_name, context, *args)
            return
        failures = getattr(runner, "hook_failures", 0)
        start = perf_counter_ns()
        run_hook(hook_name, context, *args)
        end = perf_counter_ns()
        target = args[0] if args and "all" not in hook_name else None
        failed = getattr(runner, "hook_failures", 0) != failures
        probe.hook(hook_name, target, start, end, failed)

    def timed_run_hook(hook_name: str, context: Any, *args: Any) -> None:
        if probe.observer is None or not probe.active:
            try:
                run_hook(hook_name, context, *args)
            finally:
                if hook_name == "after_all":
                    shutdown()
            return
        if hook_name == "before_step" or hook_name in _BEFORE:
            user_hook(hook_name, context, args)
            probe.start(_BEFORE.get(hook_name, "step"), args[0])
        elif hook_name == "after_step" or hook_name in _AFTER:
            probe.end(_AFTER.get(hook_name, "step"), args[0])
            user_hook(hook_name, context, args)
        elif hook_name == "after_all":
            probe.ending()
            try:
                user_hook(hook_name, context, args)
            finally:
                shutdown()
        else:
            user_hook(hook_name, context, args)

    runner.run_hook = timed_run_hook
