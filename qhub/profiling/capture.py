"""What the collector hands over at the end of a run: raw timings, frozen.

:class:`RunCapture` is the boundary between collecting (:class:`~qhub.profiling.observer.
BehaveObserver`, hot path, appends only) and everything after it (building the record,
history, verdict, reports). The builder reads nothing else, so it can be driven from a
hand-made capture in tests. Timestamps are ``perf_counter_ns`` values, memory is bytes.
Behave model objects (steps, scenarios, features) are referenced, not copied: the builder
reads their names, locations and statuses once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any

from qhub._record import frozen_record

if TYPE_CHECKING:  # the record types load at the end of the run
    from qhub.profiling.record import MethodRow



REPORT_CODE_PHASE = "qhub_report_code"
"""The phase (and attribution part) of loading the end-of-run code when the run ends."""

@frozen_record
class StepTimings:
    """Every step body that ran, in order, as parallel columns (one entry per step)."""

    steps: tuple[Any, ...] = ()
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    rss_before: tuple[int, ...] = ()
    rss_after: tuple[int, ...] = ()
    peaks: tuple[int, ...] = ()
    """tracemalloc peak bytes during the step (0 when tracemalloc is off)."""
    depths: tuple[int, ...] = ()
    """0 for a step of the scenario, 1+ for a step run by ``context.execute_steps()``."""
    charged: tuple[int, ...] = ()
    """qhub's own lazy set-up inside the step (:mod:`qhub._overhead`), ns; not the step's."""

    def __len__(self) -> int:
        return len(self.steps)


@frozen_record
class Span:
    """The body of a feature or scenario: from after its before-hooks to its after-hooks."""

    target: Any
    start_ns: int
    end_ns: int
    rss_start: int
    rss_end: int
    seq: int = 0
    """Scenario sequence number (1, 2, ...) that hook calls refer to."""
    feature: Any = None
    """The scenario's feature (for scenarios)."""
    charged_ns: int = 0
    """qhub's own lazy set-up inside the span (taken out of its duration)."""


@frozen_record
class HookCall:
    """One run of a user hook."""

    hook: str
    start_ns: int
    end_ns: int
    failed: bool
    scenario_seq: int
    """How many scenarios had started when the hook ran."""
    charged_ns: int = 0
    """qhub's own lazy set-up inside the hook (taken out of its duration)."""


@frozen_record
class RunCapture:
    """One run's raw measurements, as the collector saw them."""

    clock_anchor: tuple[int, int]
    """(``time.time_ns()``, ``perf_counter_ns()``) read together when qhub was installed."""
    finished_ns: int
    process_start_ns: int | None = None
    """Process start as ``time.time_ns()`` when the caller knows it (else read from /proc)."""
    previous_run_end_ns: int | None = None
    """End of an earlier run in this process (perf clock): this run is measured from there,
    not from the process start (a behavex worker runs many)."""
    run_started_span: tuple[int, int] | None = None
    """qhub's own start-of-run work (loading the report code), on the perf clock."""
    phases: Mapping[str, int] = field(default_factory=dict)
    """Durations measured before the run (``qhub_install``, ``load_hooks``, ...), ns."""
    step_modules: tuple[tuple[str, int], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    """What the integration said about the run (mode, tags, argv, worker id ...)."""
    steps: StepTimings = field(default_factory=StepTimings)
    scenarios: tuple[Span, ...] = ()
    features: tuple[Span, ...] = ()
    rules: int = 0
    hooks: tuple[HookCall, ...] = ()
    overhead_ns: int = 0
    """Time spent inside the collector's own callbacks."""
    memory_enabled: bool = False
    ended_by: str | None = None
    """``interrupted``, ``sigterm``, ``sighup`` when the run was cut short, else ``None``."""
    model_features: tuple[Any, ...] = ()
    """behave's features of the run (also those skipped), for behave's own totals."""
    matches: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Step text -> step type -> the definition match found during the run."""
    methods: tuple[MethodRow, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
