"""A virtual user: one thread running the selected scenarios as behave would, repeatedly.

behave's model objects (features, scenarios, steps) carry the state of a run (status,
error, duration), and its :class:`~behave.runner.Context` the state of a scenario, so no two
users may share them. Each user is a small behave ``ModelRunner`` of its own with:

- its own parsed features (reset before each iteration with behave's ``reset_model``),
- its own ``Context``, whose root layer starts as a copy of what ``before_all`` left on the
  main context (``context.api``, ``context.cache``, the user's own objects): the objects
  themselves are shared, exactly as every scenario of a normal run shares them,
- the suite's hooks and step registry (read-only while the load runs): ``before_feature``,
  ``before_scenario``, ``before_step`` and their ``after_`` twins run per user as in a
  normal run; ``before_all``/``after_all`` run once, around the whole stress run.

Output capture is off for the load (behave's capture swaps the process-wide
``sys.stdout``, which threads cannot share).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from behave.model import reset_model
from behave.runner import Context, ModelRunner
from behave.runner_util import parse_features

from qhub._redact import redact_text
from qhub._warn import warn
from qhub.profiling.behave_model import PatternIndex, display_name, location, status_name
from qhub.stress.measure import Measurements, first_line
from qhub.stress.pacing import Pacer
from qhub.stress.sink import RequestSink

BEHAVE_ROOT_KEYS = frozenset(
    {"aborted", "failed", "config", "active_outline", "cleanup_errors", "@cleanups", "@layer"}
)
"""Entries behave puts in every context's root layer itself (never copied between users)."""

_NOT_RUN = frozenset({"skipped", "untested"})
_SCENARIO_START = "_qhub_stress_started"


class StopControl:
    """How far a stress run is from stopping; read by every user at scenario boundaries."""

    def __init__(self) -> None:
        self.event = threading.Event()
        """Set when no new iteration may start."""
        self.skipping = False
        """Scenarios not yet started are skipped (grace over, or Ctrl-C/SIGTERM)."""
        self.reason: str | None = None

    def drain(self, reason: str) -> None:
        """No new iterations; running ones go on."""
        if self.reason is None:
            self.reason = reason
        self.event.set()

    def halt(self, reason: str) -> None:
        """No new iterations, and no new scenarios in the running ones."""
        self.drain(reason)
        self.skipping = True


class _Registry:
    """behave's step registry, remembering which definition matched each step."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.matches: dict[int, Any] = {}

    def find_match(self, step: Any) -> Any:
        match = self._real.find_match(step)
        if match is not None:
            self.matches[id(step)] = match
        return match

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def seed_entries(main_context: Any) -> dict[str, Any]:
    """What ``before_all`` left in the main context's root layer (qhub's lazily built tools
    are built now, once, before the load starts)."""
    root = main_context._root
    return {key: root[key] for key in list(root) if key not in BEHAVE_ROOT_KEYS}


class VirtualUser(ModelRunner):  # type: ignore[misc]
    """One virtual user (see the module docstring)."""

    def __init__(
        self,
        index: int,
        *,
        config: Any,
        hooks: dict[str, Any],
        step_registry: Any,
        seed: Mapping[str, Any],
        locations: list[Any],
        measurements: Measurements,
        sink: RequestSink,
        pacer: Pacer,
        control: StopControl,
        patterns: PatternIndex,
    ) -> None:
        super().__init__(config, features=None, step_registry=_Registry(step_registry))
        self.index = index
        self.hooks = hooks
        self._seed = dict(seed)
        self._locations = locations
        self._measurements = measurements
        self._sink = sink
        self._pacer = pacer
        self._control = control
        self._patterns = patterns
        self._labels: dict[str, str] = {}
        self._lag_ms = 0.0
        self.iterations = 0
        self.context = self._new_context()

    def _new_context(self) -> Any:
        context = Context(self)
        context._root.update(self._seed)
        return context

    # -- behave's hook dispatch (both shapes): scenario timing and the stop check ----------
    def run_hook(self, name: str, *args: Any) -> Any:
        self._before_hook(name, args)
        result = super().run_hook(name, *args)
        self._after_hook(name, args)
        return result

    def run_hook_with_capture(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """behave 1.2.7+: the feature and scenario hooks come here (even when undefined)."""
        self._before_hook(name, args)
        result = super().run_hook_with_capture(name, *args, **kwargs)
        self._after_hook(name, args)
        return result

    def _before_hook(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "before_scenario" and args:
            setattr(args[-1], _SCENARIO_START, time.perf_counter())

    def _after_hook(self, name: str, args: tuple[Any, ...]) -> None:
        if not args:
            return
        if name in ("before_feature", "before_scenario") and self._control.skipping:
            args[-1].mark_skipped()
        elif name == "after_scenario":
            target = args[-1]
            started = getattr(target, _SCENARIO_START, None)
            if started is not None:
                target._qhub_stress_ms = (time.perf_counter() - started) * 1000.0

    # -- the user's loop -------------------------------------------------------------------
    def run_user(self, start_delay: float) -> None:
        """Parse the features, then run iterations until the pacer says stop."""
        measurements = self._measurements
        if start_delay > 0 and self._control.event.wait(start_delay):
            return
        try:
            features = parse_features(self._locations, language=self.config.lang)
        except Exception as exc:
            warn(f"qhub stress: user {self.index + 1} could not parse the features: {exc}")
            return
        measurements.user_started()
        try:
            while True:
                slot = self._pacer.next(self.index)
                if slot is None:
                    break
                self._iteration(features, slot.lag_ms)
        finally:
            measurements.user_ended()

    def _iteration(self, features: list[Any], lag_ms: float | None) -> None:
        lag = lag_ms or 0.0
        self._lag_ms = lag
        self._sink.set_lag(lag)
        self._measurements.iteration_started(lag_ms)
        reset_model(features)
        self.undefined_steps[:] = []
        self.step_registry.matches.clear()
        self.context._root["failed"] = False
        started = time.perf_counter()
        broken = False
        for feature in features:
            if self._control.skipping:
                break
            self.feature = feature
            try:
                feature.run(self)
            except Exception as exc:  # behave itself failed: keep the user alive
                broken = True
                warn(
                    f"qhub stress: behave raised {type(exc).__name__} in user "
                    f"{self.index + 1}: {redact_text(str(exc))}",
                    once=f"stress-behave:{type(exc).__name__}",
                )
                self.context = self._new_context()
            self._record(feature)
        self.iterations += 1
        elapsed = (time.perf_counter() - started) * 1000.0
        self._measurements.iteration_ended(elapsed, lag, broken or self._control.skipping)

    # -- turning the model into samples ----------------------------------------------------
    def _record(self, feature: Any) -> None:
        measurements = self._measurements
        lag = self._lag_ms
        for scenario in feature.walk_scenarios():
            status = status_name(scenario)
            if status in _NOT_RUN:
                continue
            first_error: tuple[str, str] | None = None
            steps_ms = 0.0
            for step in getattr(scenario, "all_steps", scenario.steps):
                step_status = status_name(step)
                if step_status in _NOT_RUN:
                    continue
                ms = float(getattr(step, "duration", 0.0) or 0.0) * 1000.0
                steps_ms += ms
                key, label = self._definition(step)
                kind, message = _error_of(step, step_status)
                measurements.step(
                    key, label, duration_ms=ms, lag_ms=lag, status=step_status, error=message
                )
                if kind is not None and first_error is None:
                    first_error = (kind, message)
            if first_error is None and status not in ("passed",):
                first_error = (status, first_line(getattr(scenario, "error_message", "") or ""))
            timed = getattr(scenario, "_qhub_stress_ms", None)
            measurements.scenario(
                location(scenario),
                display_name(scenario),
                duration_ms=steps_ms if timed is None else float(timed),
                lag_ms=lag,
                status=status,
                kind=None if status == "passed" else (first_error or (status, ""))[0],
                error="" if first_error is None else first_error[1],
            )

    def _definition(self, step: Any) -> tuple[str, str]:
        match = self.step_registry.matches.get(id(step))
        if match is None:
            return "<undefined>", redact_text(f"{step.keyword} {step.name}".strip())
        key = str(getattr(match, "location", None) or "?")
        label = self._labels.get(key)
        if label is None:
            found = self._patterns.definition(step)
            label = self._labels[key] = f"{found.step_type.capitalize()} {found.pattern}".strip()
        return key, label


def _error_of(step: Any, status: str) -> tuple[str | None, str]:
    """(kind, first line of the message) of a step that did not pass."""
    if status == "passed":
        return None, ""
    exc = getattr(step, "exception", None)
    if exc is not None:
        text = str(exc).strip() or type(exc).__name__
        return type(exc).__name__, redact_text(first_line(text))
    message = str(getattr(step, "error_message", "") or status)
    return status, redact_text(first_line(message))


UserFactory = Callable[[int], VirtualUser]
