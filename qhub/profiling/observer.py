"""``BehaveObserver``: what the behave integration reports every hook and step to.

The callbacks only append timestamps and raw RSS readings to lists (about 1 µs each). At
the end, :meth:`BehaveObserver.finish` freezes what was collected into one
:class:`~qhub.profiling.capture.RunCapture` and hands it to the end-of-run pipeline
(:func:`qhub.profiling.end_of_run.finish_run`), which returns what it produced; nothing is
written back into the observer's collections. Time spent inside the callbacks is itself
measured and reported as the "qhub overhead" part of the wall-clock attribution.

Step definitions are resolved *during* the run, once per distinct step text (behave 1.3
does not keep ``step.match``): matching again at the end would run after the user's
``after_all`` and could meet torn-down state.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from qhub._overhead import charged_ns
from qhub._warn import warn
from qhub.profiling.behave_model import StepResolver
from qhub.profiling.capture import REPORT_CODE_PHASE, HookCall, RunCapture, Span, StepTimings
from qhub.profiling.performance import PerformanceProfiler

if TYPE_CHECKING:
    from qhub.config import QHubConfig
    from qhub.profiling.end_of_run import RunOutcome

ENDINGS = ("interrupted", "sigterm", "sighup")
_LAST_RUN_END: list[int] = []
"""perf_counter_ns at the end of the latest run finished in this process (if any)."""
"""How a run can be cut short (:meth:`BehaveObserver.mark_interrupted`)."""


class BehaveObserver:
    """Collects a behave run's timings; at the end records them and writes the reports."""

    def __init__(
        self,
        config: QHubConfig,
        *,
        clock: Callable[[], int] = time.perf_counter_ns,
        rss: Callable[[], int] | None = None,
        process_start_ns: int | None = None,
    ) -> None:
        self.config = config
        settings = config.profiling
        self.enabled = settings.enabled
        if self.enabled:
            validate_settings(config)
        self._clock = clock
        self._memory = settings.memory and self.enabled
        self._rss_raw: Callable[[], Any] = _zero
        self._rss_parse: Callable[[Any], int] = int
        if self._memory:
            if rss is None:
                from qhub.profiling.rss import raw_rss_reader

                self._rss_raw, self._rss_parse = raw_rss_reader()
            else:
                self._rss_raw = rss
        self._tracemalloc = settings.tracemalloc and self.enabled
        # a step's end reads RSS only when this long passed since the last reading: a
        # trivial step (~100 µs of behave) then shares a reading with its neighbours
        self._rss_every = int(settings.memory_interval_ms * 1_000_000) if self._memory else 1 << 62
        self._rss_at = 0
        # qhub's lazily built tools (context.api, .cache, .data) charge their set-up time
        # (qhub._overhead); it is taken out of the step or hook that triggered it
        self._charged = charged_ns
        self._charged_seen = charged_ns()
        self.profiler = PerformanceProfiler.from_config(config, clock=clock)
        self._process_start_ns = process_start_ns
        self._anchor: tuple[int, int] | None = None
        self._step_modules: tuple[tuple[str, int], ...] = ()
        self._phases: dict[str, int] = {}
        self._meta: dict[str, Any] = {}
        self._steps: list[tuple[tuple[Any, int, Any, int], int, Any, int, int, int]] = []
        """Per step, as the hot path records it: (the opening entry (step, start, raw RSS
        before, charged at start), end, raw RSS after, tracemalloc peak, depth, charged at
        end); :meth:`freeze` unpacks it."""
        self._scenarios: list[tuple[Any, int, int, Any, Any, int, Any, int]] = []
        """(scenario, start, end, raw RSS start, raw RSS end, seq, feature, charged ns)."""
        self._features: list[tuple[Any, int, int, Any, Any, int]] = []
        self._rules = 0
        self._hook_log: list[tuple[str, int, int, bool, int, int]] = []
        self._overhead_ns = 0
        self._run_started_span: tuple[int, int] | None = None
        self._resolver = StepResolver()
        self._resolved = self._resolver.matches
        self._step_stack: list[tuple[Any, int, Any, int]] = []
        self._last_rss: Any = self._rss_raw()
        self._open: dict[int, tuple[int, Any, int, int]] = {}
        self._scenario_seq = 0
        self._current_feature: Any = None
        self._seen_features: list[Any] = []
        self._ended_by: str | None = None
        self._finished = False
        self._outcome: RunOutcome | None = None
        self._summary_pending = False

    @classmethod
    def from_config(cls, config: QHubConfig) -> BehaveObserver:
        """The observer for ``config`` (the one way every qhub tool is built from config)."""
        return cls(config)

    # -- callbacks from the integration ----------------------------------------------------
    def run_started(
        self,
        *,
        clock_anchor: tuple[int, int],
        step_modules: list[tuple[str, int]],
        phases: dict[str, int],
        meta: dict[str, Any],
    ) -> None:
        """The run begins: where the clocks stand and what was measured before it."""
        t0 = self._clock()
        self._anchor = clock_anchor
        self._step_modules = tuple(step_modules)
        self._phases = dict(phases)
        self._meta = dict(meta)
        if self.enabled:
            self.profiler.start_profiling()
        if self._tracemalloc and not tracemalloc.is_tracing():
            tracemalloc.start()
        if self.enabled:
            # the end-of-run code loads when the run ends (see qhub.profiling.run_start)
            from qhub.profiling.run_start import begin

            begin(self.config)
        self._run_started_span = (t0, self._clock())

    def on_hook(
        self, hook: str, target: object | None, start_ns: int, end_ns: int, failed: bool
    ) -> None:
        """A hook ran; recorded as is and aggregated per hook kind at the end."""
        charged = self._charged()
        self._hook_log.append(
            (hook, start_ns, end_ns, failed, self._scenario_seq, charged - self._charged_seen)
        )
        self._charged_seen = charged
        self._overhead_ns += self._clock() - end_ns

    # The integration takes ``ns`` just before calling on_start/on_end, so qhub's own cost
    # is measured from ``ns`` to the return of the callback (one clock read fewer).
    def on_step_start(self, target: object, ns: int) -> None:
        """A step's body starts (the per-step hot path: no dispatch on the kind)."""
        if self._tracemalloc:
            tracemalloc.reset_peak()
        now = self._clock()
        self._overhead_ns += now - ns
        charged = self._charged_seen = self._charged()
        # RSS before the step = the latest reading (previous step's end, or the start of
        # its scenario): one procfs read per step instead of two
        self._step_stack.append((target, now, self._last_rss, charged))

    def on_step_end(self, target: Any, ns: int) -> None:
        """A step's body ended at ``ns`` (the per-step hot path)."""
        stack = self._step_stack
        if stack and stack[-1][0] is target:
            opened = stack.pop()
            if ns - self._rss_at >= self._rss_every:
                rss = self._last_rss = self._rss_raw()
                self._rss_at = ns
            else:
                rss = self._last_rss
            charged = self._charged_seen = self._charged()
            self._steps.append(
                (
                    opened,
                    ns,
                    rss,
                    tracemalloc.get_traced_memory()[1] if self._tracemalloc else 0,
                    len(stack),
                    charged,
                )
            )
        self._overhead_ns += self._clock() - ns

    def on_start(self, kind: str, target: object, ns: int) -> None:
        """The body of a feature/rule/scenario/step starts."""
        if kind == "step":
            self.on_step_start(target, ns)
            return
        if kind == "scenario":
            self._scenario_seq += 1
        elif kind == "feature":
            self._current_feature = target
            self._seen_features.append(target)
        elif kind == "rule":
            self._rules += 1
        rss = self._last_rss = self._rss_raw()
        now = self._rss_at = self._clock()
        charged = self._charged_seen = self._charged()
        self._open[id(target)] = (now, rss, self._scenario_seq, charged)
        self._overhead_ns += now - ns

    def on_end(self, kind: str, target: Any, ns: int) -> None:
        """The body of a feature/rule/scenario/step ended at ``ns``."""
        if kind == "step":
            self.on_step_end(target, ns)
            return
        opened_other = self._open.pop(id(target), None)
        if opened_other is not None:
            start, rss0, seq, charged0 = opened_other
            rss1 = self._last_rss = self._rss_raw()
            self._rss_at = ns
            charged = self._charged_seen = self._charged()
            if kind == "scenario":
                self._scenarios.append(
                    (target, start, ns, rss0, rss1, seq, self._current_feature, charged - charged0)
                )
            elif kind == "feature":
                self._features.append((target, start, ns, rss0, rss1, charged - charged0))
        self._overhead_ns += self._clock() - ns

    def mark_interrupted(self, how: str = "interrupted") -> None:
        """The run was cut short: ``interrupted`` (Ctrl-C, before_all failure), ``sigterm``
        or ``sighup`` (CI cancel or timeout); the recorded status says which."""
        how = how if how in ENDINGS else "interrupted"
        if self._ended_by in (None, "interrupted"):  # the signal that started it stays named
            self._ended_by = how

    # -- the end of the run ----------------------------------------------------------------
    def finish(
        self,
        stats: dict[str, Any],
        *,
        defer_summary: bool = False,
        features: Sequence[Any] | None = None,
    ) -> list[Path]:
        """Record the run, judge it, write the reports; returns written paths (idempotent).

        ``features``: behave's list of every feature of the run (``runner.features``), so
        the totals count skipped features as behave does; without it, features that never
        started are missing from the counts. With ``defer_summary`` the terminal summary
        waits for :meth:`print_summary`.

        Never raises into behave: a failure is announced on stderr in one line and whatever
        could be written is.
        """
        if self._finished:
            return list(self._outcome.written) if self._outcome is not None else []
        self._finished = True
        if not self.enabled:
            return []
        # The end-of-run code loads here, on first use, and inside the measured run (its
        # own part of the attribution), so the time after the measured end stays small.
        loading = self._clock()
        try:
            from qhub.profiling.end_of_run import finish_run
        except Exception as exc:  # never break the user's run over a report
            warn(f"profiling report failed: {type(exc).__name__}: {exc}", exc_info=True)
            return []
        finished_ns = self._clock()
        self._phases[REPORT_CODE_PHASE] = finished_ns - loading
        previous = _LAST_RUN_END[-1] if _LAST_RUN_END else None
        _LAST_RUN_END[:] = [finished_ns]
        # Building the report allocates many small containers; with behave's whole model
        # alive, each automatic collection they trigger walks every object of the run (at
        # 20,000 steps that was half of finish()). Nothing here makes cyclic garbage.
        collecting = gc.isenabled()
        gc.disable()
        try:
            capture = self.freeze(stats, finished_ns, features, previous)
            self._outcome = finish_run(capture, self.config)
        except Exception as exc:  # never break the user's run over a report
            warn(f"profiling report failed: {type(exc).__name__}: {exc}", exc_info=True)
        finally:
            if collecting:
                gc.enable()
        if self._outcome is not None and self._outcome.summary is not None:
            self._summary_pending = True
            if not defer_summary:
                self.print_summary()
        return list(self._outcome.written) if self._outcome is not None else []

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def outcome(self) -> RunOutcome | None:
        """What the end of the run produced (record, report, files), once finished."""
        return self._outcome

    def summary_text(self) -> str | None:
        """The end-of-run terminal summary (``None`` before :meth:`finish` or when off)."""
        return self._outcome.summary if self._outcome is not None else None

    def print_summary(self, stream: TextIO | None = None) -> None:
        """Write the terminal summary kept by :meth:`finish` to ``stream`` (once).

        Default stream: the process's real stdout (behave's capture cannot swallow it).
        """
        if not self._summary_pending:
            return
        self._summary_pending = False
        text = self.summary_text()
        if not text:
            return
        import sys

        out = stream or sys.__stdout__ or sys.stdout
        try:
            out.write(text)
            out.flush()
        except (OSError, ValueError):  # stream closed: the reports are written anyway
            pass

    def freeze(
        self,
        stats: dict[str, Any],
        finished_ns: int,
        features: Sequence[Any] | None = None,
        previous_run_end_ns: int | None = None,
    ) -> RunCapture:
        """Everything collected so far as one immutable :class:`RunCapture`."""
        parse = self._rss_parse
        # the hot path's records, flattened: (step, start, end, RSS before, RSS after, peak,
        # depth, charged during the step)
        steps = [
            (opened[0], opened[1], end, opened[2], rss, peak, depth, charged - opened[3])
            for opened, end, rss, peak, depth, charged in self._steps
        ]
        # step definitions are resolved here, once per distinct step text, not per step
        # while the run is measured (behave keeps each step's match on the step)
        see = self._resolver.see
        for record in steps:
            see(record[0])
        if parse is not int:
            # readings repeat (a step's "before" is the previous step's "after", and RSS
            # moves in pages, rarely): parse each distinct reading once
            raw = {r for record in steps for r in (record[3], record[4])}
            raw.update(r for rows in (self._scenarios, self._features) for row in rows
                       for r in (row[3], row[4]))  # fmt: skip
            parsed = {r: parse(r) for r in raw}
        else:
            parsed = _Identity()
        columns: list[tuple[Any, ...]] = list(zip(*steps, strict=True)) if steps else [()] * 8
        timings = StepTimings(
            steps=columns[0],
            starts=columns[1],
            ends=columns[2],
            rss_before=tuple(parsed[r] for r in columns[3]),
            rss_after=tuple(parsed[r] for r in columns[4]),
            peaks=columns[5],
            depths=columns[6],
            charged=columns[7],
        )
        scenarios = tuple(
            Span(s, start, end, parsed[r0], parsed[r1], seq, feature, charged)
            for s, start, end, r0, r1, seq, feature, charged in self._scenarios
        )
        spans = tuple(
            Span(f, start, end, parsed[r0], parsed[r1], charged_ns=charged)
            for f, start, end, r0, r1, charged in self._features
        )
        ended_by = self._ended_by
        if ended_by is None and (self._step_stack or self._open):
            ended_by = "interrupted"  # something was still running when the run ended
        model = list(features) if features is not None else list(self._seen_features)
        return RunCapture(
            clock_anchor=self._anchor or (time.time_ns(), finished_ns),
            finished_ns=finished_ns,
            process_start_ns=self._process_start_ns,
            previous_run_end_ns=previous_run_end_ns,
            run_started_span=self._run_started_span,
            phases=dict(self._phases),
            step_modules=self._step_modules,
            meta=dict(self._meta),
            steps=timings,
            scenarios=scenarios,
            features=spans,
            rules=self._rules,
            hooks=tuple(HookCall(*call) for call in self._hook_log),
            overhead_ns=self._overhead_ns,
            memory_enabled=self._memory,
            ended_by=ended_by,
            model_features=tuple(model),
            matches={name: dict(by_type) for name, by_type in self._resolved.items()},
            methods=self.profiler.method_records(),
            stats=dict(stats),
        )


def validate_settings(config: QHubConfig) -> None:
    """Refuse, at start-up and in one line, profiling settings the config layer cannot check."""
    from qhub.exceptions import ConfigError
    from qhub.profiling.regression import Threshold

    for expression in config.profiling.compare:
        try:
            Threshold.parse(expression)
        except ValueError as exc:
            raise ConfigError(f"profiling.compare: {exc}") from None


class _Identity(dict[Any, int]):
    """``parsed[r] == r`` for readings that already are integers (fake readers in tests)."""

    def __missing__(self, key: Any) -> int:
        return int(key)


def _zero() -> int:
    return 0
