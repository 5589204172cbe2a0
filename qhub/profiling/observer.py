"""``BehaveObserver``: what the behave integration reports every hook and step to.

The callbacks only append timestamps and RSS readings to lists (a few µs per step); all
naming, aggregation, history and report writing happens once in :meth:`finish`. Time spent
inside the callbacks is itself measured and reported as the "qhub overhead" part of the
wall-clock attribution, so qhub's own cost is never hidden in the steps' figures.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub.profiling.profiler import PerformanceProfiler

if TYPE_CHECKING:
    from qhub.config import QHubConfig

log = logging.getLogger("qhub.profiling")

StepRecord = tuple[Any, int, int, int, int, int]
"""(step, body start ns, body end ns, RSS before, RSS after, tracemalloc peak bytes)."""


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
        if self._memory and rss is None:
            from qhub.profiling.memory import rss_reader

            rss = rss_reader()
        self._rss: Callable[[], int] = rss if (rss is not None and self._memory) else _zero
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
        self.scenarios: list[list[Any]] = []
        """[scenario, start, end, rss0, rss1, hook ns, feature]"""
        self.features: list[list[Any]] = []
        """[feature, start, end, rss0, rss1]"""
        self.rules = 0
        self.hooks: dict[str, list[int]] = {}
        """hook name -> [count, total ns, max ns, failures]"""
        self.hook_spans: dict[str, tuple[int, int]] = {}
        """first/only span of before_all and after_all."""
        self.overhead_ns = 0
        self.run_started_span: tuple[int, int] | None = None
        self._open: dict[int, tuple[int, int]] = {}
        self._scenario_hook_ns = 0
        self._current_feature: Any = None
        self._finished = False
        self._written: list[Path] = []
        self.finished_ns: int | None = None
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
        self.run_started_span = (t0, self._clock())

    def on_hook(
        self, hook: str, target: object | None, start_ns: int, end_ns: int, failed: bool
    ) -> None:
        """A hook ran; durations are aggregated per hook kind."""
        t0 = self._clock()
        duration = end_ns - start_ns
        agg = self.hooks.get(hook)
        if agg is None:
            agg = self.hooks[hook] = [0, 0, 0, 0]
        agg[0] += 1
        agg[1] += duration
        agg[2] = max(agg[2], duration)
        if failed:
            agg[3] += 1
        if hook == "before_scenario":
            self._scenario_hook_ns = duration
        elif hook == "after_scenario":
            if self.scenarios:
                self.scenarios[-1][5] = self._scenario_hook_ns + duration
            self._scenario_hook_ns = 0
        elif hook in ("before_all", "after_all"):
            self.hook_spans.setdefault(hook, (start_ns, end_ns))
        else:
            self._scenario_hook_ns += duration
        self.overhead_ns += self._clock() - t0

    def on_start(self, kind: str, target: object, ns: int) -> None:
        """The body of a feature/rule/scenario/step starts."""
        t0 = self._clock()
        if kind == "step":
            peak_reset = self._tracemalloc
            if peak_reset:
                tracemalloc.reset_peak()
            rss = self._rss()
            now = self._clock()
            self.overhead_ns += now - t0
            self._open[id(target)] = (now, rss)  # the body starts after our own work
            return
        if kind == "feature":
            self._current_feature = target
        elif kind == "rule":
            self.rules += 1
        rss = self._rss()
        now = self._clock()
        self._open[id(target)] = (now, rss)
        self.overhead_ns += now - t0

    def on_end(self, kind: str, target: object, ns: int) -> None:
        """The body of a feature/rule/scenario/step ended at ``ns``."""
        t0 = self._clock()
        opened = self._open.pop(id(target), None)
        if opened is not None:
            start, rss0 = opened
            rss1 = self._rss()
            if kind == "step":
                peak = tracemalloc.get_traced_memory()[1] if self._tracemalloc else 0
                self.steps.append((target, start, ns, rss0, rss1, peak))
            elif kind == "scenario":
                self.scenarios.append([target, start, ns, rss0, rss1, 0, self._current_feature])
            elif kind == "feature":
                self.features.append([target, start, ns, rss0, rss1])
        self.overhead_ns += self._clock() - t0

    # -- the end of the run ----------------------------------------------------------------
    def finish(self, stats: dict[str, Any]) -> list[Path]:
        """Record the run, analyse it, write the reports; returns written paths (idempotent).

        Never raises into behave: failures are logged and whatever could be written is.
        """
        if self._finished:
            return list(self._written)
        self._finished = True
        self.finished_ns = self._clock()
        if not self.enabled:
            return []
        try:
            from qhub.profiling.session import complete_run

            self._written = complete_run(self, stats)
        except Exception:  # never break the user's run over a report
            log.exception("qhub: profiling report failed")
        return list(self._written)

    @property
    def finished(self) -> bool:
        return self._finished


def _zero() -> int:
    return 0
