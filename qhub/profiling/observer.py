"""``BehaveObserver``: what the behave integration reports every hook and step to.

The callbacks only append timestamps and raw RSS readings to lists (about 1 µs each); all
parsing, naming, aggregation, history and report writing happens once in :meth:`finish`.
Time spent inside the callbacks is itself measured and reported as the "qhub overhead"
part of the wall-clock attribution, so qhub's own cost is never hidden in the steps'
figures.

Step definitions are resolved *during* the run, once per distinct step text (behave 1.3
does not keep ``step.match``): matching again at the end would run after the user's
``after_all`` and could meet torn-down state (e.g. a parse type converter that needs it).
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from qhub._warn import warn
from qhub.profiling.profiler import PerformanceProfiler
from qhub.profiling.targets import StepResolver

if TYPE_CHECKING:
    from qhub.config import QHubConfig

StepRecord = tuple[Any, int, int, int, int, int]
"""(step, body start ns, body end ns, RSS before, RSS after, tracemalloc peak bytes)."""

_SCENARIO_BEFORE = frozenset({"before_scenario", "before_tag"})
_SCENARIO_LEVEL = frozenset({"before_step", "after_step", "after_scenario", "after_tag"})
_RUN_LEVEL = frozenset({"before_all", "after_all"})


class BehaveObserver:
    """Collects a behave run's timings and writes its reports at the end."""

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
        self._clock = clock
        self._memory = settings.memory and self.enabled
        self._rss_raw: Callable[[], Any] = _zero
        self._rss_parse: Callable[[Any], int] = int
        if self._memory:
            if rss is None:
                from qhub.profiling.memory import raw_rss_reader

                self._rss_raw, self._rss_parse = raw_rss_reader()
            else:
                self._rss_raw = rss
        self._tracemalloc = settings.tracemalloc and self.enabled
        self.profiler = PerformanceProfiler(
            enable_memory_profiling=False,
            baseline_file=config.path(settings.baseline_file) if settings.baseline_file else None,
            clock=clock,
            noise_floor_ms=settings.noise_floor_ms,
        )
        self.process_start_ns = process_start_ns
        """Process start as ``time.time_ns()``; ``None`` = read it from /proc (or psutil)."""
        self.clock_anchor: tuple[int, int] | None = None
        self.step_modules: list[tuple[str, int]] = []
        self.phases: dict[str, int] = {}
        self.meta: dict[str, Any] = {}
        self.steps: list[StepRecord] = []
        """Raw during the run (RSS as read); parsed to bytes by :meth:`finish`."""
        self.scenarios: list[list[Any]] = []
        """[scenario, start, end, rss0, rss1, hook ns, feature] (hook ns filled at finish)."""
        self.features: list[list[Any]] = []
        """[feature, start, end, rss0, rss1]"""
        self.rules = 0
        self.hooks: dict[str, list[int]] = {}
        """hook name -> [count, total ns, max ns, failures] (built at finish)."""
        self.hook_spans: dict[str, tuple[int, int]] = {}
        """first/only span of before_all and after_all (built at finish)."""
        self.overhead_ns = 0
        self.run_started_span: tuple[int, int] | None = None
        self.resolver = StepResolver()
        """Step text -> matched definition, filled once per distinct text during the run."""
        self._resolved = self.resolver.matches
        self._hook_log: list[tuple[str, int, int, bool, int]] = []
        """(hook, start, end, failed, scenario sequence number when it ran)."""
        self._step_stack: list[tuple[Any, int, Any]] = []
        self._last_rss: Any = self._rss_raw()
        self._open: dict[int, tuple[int, Any, int]] = {}
        self._scenario_seq = 0
        self._scenario_seqs: list[int] = []
        self._current_feature: Any = None
        self._finished = False
        self._written: list[Path] = []
        self.finished_ns: int | None = None
        self.interrupted = False
        self.pending_summary: tuple[dict[str, Any], list[Path]] | None = None
        """Set by :meth:`finish`: something was still running when the run ended."""
        self.document: dict[str, Any] | None = None

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
        self.clock_anchor = clock_anchor
        self.step_modules = list(step_modules)
        self.phases = dict(phases)
        self.meta = dict(meta)
        if self.enabled:
            self.profiler.start_profiling()
        if self._tracemalloc and not tracemalloc.is_tracing():
            tracemalloc.start()
        if self.enabled:
            # load the end-of-run code now, inside the measured run (as qhub overhead),
            # so the unmeasurable time between the report and process exit stays small
            import qhub.profiling.reports
            import qhub.profiling.session  # noqa: F401
            from qhub.profiling.render import preload

            preload(list(self.config.report.formats))
        self.run_started_span = (t0, self._clock())

    def on_hook(
        self, hook: str, target: object | None, start_ns: int, end_ns: int, failed: bool
    ) -> None:
        """A hook ran; recorded as is and aggregated per hook kind at the end."""
        self._hook_log.append((hook, start_ns, end_ns, failed, self._scenario_seq))
        self.overhead_ns += self._clock() - end_ns

    # The integration takes ``ns`` just before calling on_start/on_end, so qhub's own cost
    # is measured from ``ns`` to the return of the callback (one clock read fewer).
    def on_start(self, kind: str, target: object, ns: int) -> None:
        """The body of a feature/rule/scenario/step starts."""
        if kind == "step":
            if self._tracemalloc:
                tracemalloc.reset_peak()
            now = self._clock()
            self.overhead_ns += now - ns
            # RSS before the step = the latest reading (previous step's end, or the start
            # of its scenario): one procfs read per step instead of two
            self._step_stack.append((target, now, self._last_rss))
            return
        if kind == "scenario":
            self._scenario_seq += 1
        elif kind == "feature":
            self._current_feature = target
        elif kind == "rule":
            self.rules += 1
        rss = self._last_rss = self._rss_raw()
        now = self._clock()
        self._open[id(target)] = (now, rss, self._scenario_seq)
        self.overhead_ns += now - ns

    def on_end(self, kind: str, target: Any, ns: int) -> None:
        """The body of a feature/rule/scenario/step ended at ``ns``."""
        if kind == "step":
            stack = self._step_stack
            if stack and stack[-1][0] is target:
                opened = stack.pop()
                rss = self._last_rss = self._rss_raw()
                self.steps.append(
                    (
                        target,
                        opened[1],
                        ns,
                        opened[2],
                        rss,
                        tracemalloc.get_traced_memory()[1] if self._tracemalloc else 0,
                    )
                )
                try:  # inlined StepResolver.see: one dict lookup per step
                    known = self._resolved.get(target.name)
                    if known is None or target.step_type not in known:
                        self.resolver.see(target)
                except AttributeError:
                    self.resolver.see(target)
            self.overhead_ns += self._clock() - ns
            return
        opened_other = self._open.pop(id(target), None)
        if opened_other is not None:
            start, rss0, seq = opened_other
            rss1 = self._last_rss = self._rss_raw()
            if kind == "scenario":
                self.scenarios.append([target, start, ns, rss0, rss1, 0, self._current_feature])
                self._scenario_seqs.append(seq)
            elif kind == "feature":
                self.features.append([target, start, ns, rss0, rss1])
        self.overhead_ns += self._clock() - ns

    # -- the end of the run ----------------------------------------------------------------
    def finish(self, stats: dict[str, Any], *, defer_summary: bool = False) -> list[Path]:
        """Record the run, analyse it, write the reports; returns written paths (idempotent).

        With ``defer_summary`` the terminal summary waits for :meth:`print_summary`.

        Never raises into behave: a failure is announced on stderr in one line and whatever
        could be written is.
        """
        if self._finished:
            return list(self._written)
        self._finished = True
        self.finished_ns = self._clock()
        if not self.enabled:
            return []
        # Building the report allocates many small containers; with behave's whole model
        # alive, each automatic collection they trigger walks every object of the run (at
        # 20,000 steps that was half of finish()). Nothing here makes cyclic garbage.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._materialize()
            from qhub.profiling.session import complete_run

            self._written = complete_run(self, stats, defer_summary=defer_summary)
        except Exception as exc:  # never break the user's run over a report
            warn(f"profiling report failed: {type(exc).__name__}: {exc}", exc_info=True)
        finally:
            if collecting:
                gc.enable()
        return list(self._written)

    @property
    def finished(self) -> bool:
        return self._finished

    def print_summary(self, stream: TextIO | None = None) -> None:
        """Print the terminal summary kept by a deferred :meth:`finish` (once)."""
        pending, self.pending_summary = self.pending_summary, None
        if pending is None:
            return
        from qhub.profiling.reports import print_summary

        report, written = pending
        out = stream or sys.__stdout__ or sys.stdout
        print_summary(report, written, self.config.report.top, out)

    def mark_interrupted(self, how: str = "interrupted") -> None:
        """The run was aborted (Ctrl-C, a failing before_all, SIGTERM...): record it so."""
        self.interrupted = True

    def _materialize(self) -> None:
        """Turn the raw records into figures: parse RSS, aggregate hooks per kind/scenario."""
        self.interrupted = self.interrupted or bool(self._step_stack or self._open)
        raw_parse = self._rss_parse
        if raw_parse is not int:
            # readings repeat (a step's "before" is the previous step's "after", and RSS
            # moves in pages, rarely): parse each distinct reading once
            steps = self.steps
            rows = (*self.scenarios, *self.features)
            raw = {r for record in steps for r in (record[3], record[4])}
            raw.update(r for row in rows for r in (row[3], row[4]))
            parsed = {r: raw_parse(r) for r in raw}
            self.steps = [
                (step, start, end, parsed[r0], parsed[r1], peak)
                for step, start, end, r0, r1, peak in steps
            ]
            for row in rows:
                row[3], row[4] = parsed[row[3]], parsed[row[4]]
        hooks: dict[str, list[int]] = {}
        by_seq: dict[int, int] = {}
        for hook, start, end, failed, seq in self._hook_log:
            duration = end - start
            agg = hooks.get(hook)
            if agg is None:
                agg = hooks[hook] = [0, 0, 0, 0]
            agg[0] += 1
            agg[1] += duration
            agg[2] = max(agg[2], duration)
            agg[3] += int(failed)
            if hook in _RUN_LEVEL:
                self.hook_spans.setdefault(hook, (start, end))
            elif hook in _SCENARIO_BEFORE:
                by_seq[seq + 1] = by_seq.get(seq + 1, 0) + duration
            elif hook in _SCENARIO_LEVEL:
                by_seq[seq] = by_seq.get(seq, 0) + duration
        self.hooks = hooks
        for row, seq in zip(self.scenarios, self._scenario_seqs, strict=True):
            row[5] = by_seq.get(seq, 0)


def _zero() -> int:
    return 0
