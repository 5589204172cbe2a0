"""Building the frozen :class:`~qhub.profiling.record.RunRecord` from a run's capture.

:func:`build_record` reads a :class:`~qhub.profiling.capture.RunCapture` (and nothing
else), so it can be tested from a hand-made capture. Step occurrences are aggregated per
step definition in one pass: everything that is per *text* — resolving the definition,
redacting and formatting — is done once per distinct (text, step type, keyword) and
cached; per occurrence only a tuple key, one dict lookup, list appends and integer sums
remain. Figures come from all samples; the record keeps at most
:data:`MAX_STORED_SAMPLES` of them per definition.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from qhub._figures import percentile_sorted
from qhub.profiling.behave_model import (
    PatternIndex,
    display_name,
    failure_of,
    location,
    scenario_identity,
    scenario_steps,
    status_name,
    step_text,
    walk_scenarios,
)
from qhub.profiling.capture import REPORT_CODE_PHASE, RunCapture, Span
from qhub.profiling.identity import disambiguate, split_location, steps_signature
from qhub.profiling.record import (
    FeatureRow,
    HookRow,
    Memory,
    ModuleRow,
    RunMeta,
    RunRecord,
    ScenarioOutcome,
    ScenarioRow,
    StepDefinitionRow,
    TextFigures,
    Totals,
)
from qhub.profiling.rss import MB
from qhub.profiling.timings import NS_PER_MS
from qhub.profiling.wall_clock import Timeline, attribute

MAX_STORED_SAMPLES = 2000
"""Samples kept per step definition in the record (the figures use all of them)."""
MAX_SERIES_POINTS = 600
"""Points of the memory-over-time series (bucket maxima)."""
_RUN_LEVEL = frozenset({"before_all", "after_all"})
_SCENARIO_BEFORE = frozenset({"before_scenario", "before_tag"})
_SCENARIO_LEVEL = frozenset({"before_step", "after_step", "after_scenario", "after_tag"})


def _ms(ns: float) -> float:
    return round(ns / NS_PER_MS, 3)


def _mb(b: float) -> float:
    return round(b / MB, 3)


def thin(samples: Sequence[Any], limit: int = MAX_STORED_SAMPLES) -> list[Any]:
    """At most ``limit`` samples spread evenly over ``samples`` (order kept)."""
    if len(samples) <= limit:
        return list(samples)
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


# -- step definitions --------------------------------------------------------------------------


class _Text:
    """Running figures of one step text within one definition (no per-sample list)."""

    __slots__ = ("count", "max_ns", "text", "total_ns")

    def __init__(self, text: str) -> None:
        self.text = text
        self.count = 0
        self.total_ns = 0
        self.max_ns = 0

    def figures(self) -> TextFigures:
        total_ms = self.total_ns / NS_PER_MS
        return TextFigures(
            text=self.text,
            count=self.count,
            total_ms=round(total_ms, 3),
            mean_ms=round(total_ms / self.count, 3),
            max_ms=round(self.max_ns / NS_PER_MS, 3),
        )


class _Definition:
    """Samples and sums of one step definition."""

    __slots__ = ("info", "nested", "peak", "rss_delta", "samples", "statuses", "texts")

    def __init__(self, info: Any) -> None:
        self.info = info
        self.samples: list[int] = []
        self.statuses: dict[str, int] = {}
        self.rss_delta = 0
        self.peak = 0
        self.nested = 0
        self.texts: dict[str, _Text] = {}

    def row(self, key: str) -> StepDefinitionRow:
        samples = self.samples
        ordered = sorted(samples)
        total_ms = sum(samples) / NS_PER_MS
        info = self.info
        return StepDefinitionRow(
            key=key,
            location=info.location,
            file=info.file,
            line=info.line,
            step_type=info.step_type,
            pattern=info.pattern,
            function=info.function,
            count=len(samples),
            nested_calls=self.nested,
            total_ms=round(total_ms, 3),
            mean_ms=round(total_ms / len(samples), 3),
            min_ms=round(ordered[0] / NS_PER_MS, 3),
            p50_ms=round(percentile_sorted(ordered, 50) / NS_PER_MS, 3),
            p95_ms=round(percentile_sorted(ordered, 95) / NS_PER_MS, 3),
            max_ms=round(ordered[-1] / NS_PER_MS, 3),
            statuses=self.statuses,
            rss_delta_mb=round(self.rss_delta / MB, 3),
            tracemalloc_peak_kb=round(max(0.0, self.peak / 1024), 1),
            texts=tuple(
                sorted((t.figures() for t in self.texts.values()), key=lambda t: -t.total_ms)
            ),
            samples_ms=tuple(round(s / NS_PER_MS, 3) for s in thin(samples)),
        )


class _Slots:
    """Distinct step (text, type, keyword, own match) -> its definition and text slot."""

    def __init__(self, index: PatternIndex) -> None:
        self._index = index
        self.definitions: dict[tuple[str, int | None], _Definition] = {}
        self.by_ident: dict[Any, tuple[_Definition, _Text]] = {}

    def add(self, ident: Any, step: Any) -> tuple[_Definition, _Text]:
        """Resolve ``step`` (the first of its kind) and remember it under ``ident``."""
        info = self._index.definition(step)
        identity = (info.key, info.line)
        definition = self.definitions.get(identity)
        if definition is None:
            definition = self.definitions[identity] = _Definition(info)
        text = step_text(step)
        slot = definition.texts.get(text)
        if slot is None:
            slot = definition.texts[text] = _Text(text)
        found = self.by_ident[ident] = (definition, slot)
        return found


def _status_names() -> Callable[[Any], str]:
    """``status_name`` memoised per status object (behave's ``Status`` enum members)."""
    names: dict[Any, str] = {}
    last_status: Any = object()  # consecutive steps mostly share one status object
    last_name = ""

    def name_of(step: Any) -> str:
        nonlocal last_status, last_name
        status = getattr(step, "status", None)
        if status is last_status:
            return last_name
        try:
            found = names.get(status)
        except TypeError:  # unhashable status: name it each time
            return status_name(step)
        if found is None:
            found = names[status] = status_name(step)
        last_status, last_name = status, found
        return found

    return name_of


def aggregate_steps(capture: RunCapture) -> tuple[list[StepDefinitionRow], int]:
    """(one row per step definition, slowest total first; top-level step body time in ns).

    Steps run through ``context.execute_steps()`` count to their own definition (as
    ``nested_calls``) but not to the step-body total: their time is inside the calling step.
    Time qhub charged to itself inside a step (its lazy set-up) is not the step's.
    Rows with equal totals keep the order in which their definitions were first seen.
    """
    t = capture.steps
    charged = t.charged or (0,) * len(t)
    body_ns = 0
    slots = _Slots(PatternIndex(capture.matches))
    by_ident, add = slots.by_ident, slots.add
    name_of = _status_names()
    for step, start, end, rss0, rss1, peak, depth, own in zip(
        t.steps, t.starts, t.ends, t.rss_before, t.rss_after, t.peaks, t.depths, charged,
        strict=True,
    ):  # fmt: skip
        try:
            # a step's own match (kept by some behave versions) wins over the text's
            ident: Any = (step.name, step.step_type, step.keyword, id(getattr(step, "match", None)))
            found = by_ident.get(ident)
        except (AttributeError, TypeError):  # not a behave step: resolved on its own
            ident = id(step)
            found = by_ident.get(ident)
        definition, text = add(ident, step) if found is None else found
        duration = end - start - own
        duration = max(duration, 0)
        definition.samples.append(duration)
        if depth:
            definition.nested += 1
        else:
            body_ns += duration
        status = name_of(step)
        statuses = definition.statuses
        statuses[status] = statuses.get(status, 0) + 1
        definition.rss_delta += rss1 - rss0
        # plain compares: a max() call per step costs more in this loop
        if peak > definition.peak:  # noqa: PLR1730
            definition.peak = peak
        text.count += 1
        text.total_ns += duration
        if duration > text.max_ns:  # noqa: PLR1730
            text.max_ns = duration
    found_defs = list(slots.definitions.values())
    keys = disambiguate([d.info.key for d in found_defs], [d.info.line for d in found_defs])
    rows = [d.row(key) for d, key in zip(found_defs, keys, strict=True)]
    rows.sort(key=lambda r: -r.total_ms)
    return rows, body_ns


# -- scenarios, features, hooks ----------------------------------------------------------------


def _scenario_hooks(capture: RunCapture) -> dict[int, int]:
    """Hook time per scenario sequence number (before-hooks count to the next scenario)."""
    by_seq: dict[int, int] = {}
    for call in capture.hooks:
        duration = call.end_ns - call.start_ns - call.charged_ns
        if call.hook in _SCENARIO_BEFORE:
            by_seq[call.scenario_seq + 1] = by_seq.get(call.scenario_seq + 1, 0) + duration
        elif call.hook in _SCENARIO_LEVEL:
            by_seq[call.scenario_seq] = by_seq.get(call.scenario_seq, 0) + duration
    return by_seq


def _scenario_row(
    span: Span, hooks_ns: int, worker: str | None, text_of: Callable[[Any], str]
) -> ScenarioRow:
    scenario = span.target
    identity = scenario_identity(scenario)
    steps = scenario_steps(scenario)
    status = status_name(scenario)
    error, failed_step = failure_of(scenario) if status in ("failed", "error") else (None, None)
    return ScenarioRow(
        key=identity.key,
        location=location(scenario),
        file=identity.file,
        line=identity.line,
        name=identity.name,
        feature=display_name(span.feature) if span.feature is not None else "",
        status=status,
        duration_ms=_ms(span.end_ns - span.start_ns - span.charged_ns),
        hooks_ms=_ms(hooks_ns),
        steps=len(steps) if steps or isinstance(getattr(scenario, "steps", None), list) else None,
        rss_start_mb=_mb(span.rss_start),
        rss_end_mb=_mb(span.rss_end),
        rss_delta_mb=_mb(span.rss_end - span.rss_start),
        error=error,
        failed_step=failed_step,
        signature=steps_signature(text_of(s) for s in steps) if steps else "",
        worker=worker,
    )


def _step_texts() -> Callable[[Any], str]:
    """:func:`step_text` memoised per (keyword, name): a run repeats a few texts many times."""
    seen: dict[Any, str] = {}

    def text_of(step: Any) -> str:
        try:
            key: Any = (step.keyword, step.name)
            found = seen.get(key)
        except (AttributeError, TypeError):  # not a behave step: named on its own
            return step_text(step)
        if found is None:
            found = seen[key] = step_text(step)
        return found

    return text_of


def _scenario_rows(capture: RunCapture, worker: str | None) -> list[ScenarioRow]:
    hooks = _scenario_hooks(capture)
    text_of = _step_texts()
    rows = [
        _scenario_row(span, hooks.get(span.seq, 0), worker, text_of) for span in capture.scenarios
    ]
    keys = disambiguate([r.key for r in rows], [r.line for r in rows])
    return [
        r if r.key == k else dataclasses.replace(r, key=k) for r, k in zip(rows, keys, strict=True)
    ]


def _feature_rows(capture: RunCapture, worker: str | None) -> list[FeatureRow]:
    rows = []
    for span in capture.features:
        where = location(span.target)
        rows.append(
            FeatureRow(
                key=split_location(where)[0],
                location=where,
                name=display_name(span.target),
                status=status_name(span.target),
                duration_ms=_ms(span.end_ns - span.start_ns - span.charged_ns),
                rss_delta_mb=_mb(span.rss_end - span.rss_start),
                worker=worker,
            )
        )
    return rows


def _hook_rows(capture: RunCapture, qhub_in_before_all_ns: int) -> list[HookRow]:
    """One row per hook kind; qhub's own set-up is taken out of the ``before_all`` it ran in."""
    sums: dict[str, list[int]] = {}
    for call in capture.hooks:
        duration = max(0, call.end_ns - call.start_ns - call.charged_ns)
        if call.hook == "before_all" and qhub_in_before_all_ns:
            duration = max(0, duration - qhub_in_before_all_ns)
            qhub_in_before_all_ns = 0
        count, total, peak, failed = sums.get(call.hook, (0, 0, 0, 0))
        sums[call.hook] = [count + 1, total + duration, max(peak, duration), failed + call.failed]
    return sorted(
        (
            HookRow(
                hook=hook,
                count=count,
                total_ms=_ms(total),
                mean_ms=_ms(total // count) if count else 0.0,
                max_ms=_ms(peak),
                failed=failed,
            )
            for hook, (count, total, peak, failed) in sums.items()
        ),
        key=lambda h: -h.total_ms,
    )


# -- totals and status -------------------------------------------------------------------------


def _count(into: dict[str, int], name: str) -> None:
    into[name] = into.get(name, 0) + 1


def _totals(capture: RunCapture, step_definitions: int, outcomes: bool) -> Totals:
    """Counts as behave's summary gives them (from behave's model when it is there).

    ``outcomes``: also keep each scenario's outcome, so parts of one run can be merged.
    """
    features: dict[str, int] = {}
    scenarios: dict[str, int] = {}
    steps: dict[str, int] = {}
    kept: list[ScenarioOutcome] = []
    feature_status: dict[str, str] = {}
    step_status = _status_names()
    for feature in capture.model_features:
        _count(features, status_name(feature))
        if outcomes:
            feature_status[split_location(location(feature))[0]] = status_name(feature)
        for scenario in walk_scenarios(feature):
            _count(scenarios, status_name(scenario))
            own: dict[str, int] = {}
            for step in scenario_steps(scenario):
                _count(own, step_status(step))
            for name, n in own.items():
                steps[name] = steps.get(name, 0) + n
            if outcomes:
                key = scenario_identity(scenario).key
                kept.append(ScenarioOutcome(key, status_name(scenario), own))
    sub_steps = sum(1 for d in capture.steps.depths if d)
    n_scenarios = sum(scenarios.values())
    if n_scenarios >= len(capture.scenarios) and (n_scenarios or not capture.steps):
        source = "behave model"
    else:  # no usable model (or one that misses what ran): count what was observed
        source = "observed"
        features, scenarios, steps, kept, feature_status = {}, {}, {}, [], {}
        for span in capture.features:
            _count(features, status_name(span.target))
        for span in capture.scenarios:
            _count(scenarios, status_name(span.target))
        for step, depth in zip(capture.steps.steps, capture.steps.depths, strict=True):
            if not depth:
                _count(steps, status_name(step))
    return Totals(
        features=sum(features.values()),
        features_by_status=features,
        rules=capture.rules,
        scenarios=sum(scenarios.values()),
        scenarios_by_status=scenarios,
        steps=sum(steps.values()),
        steps_by_status=steps,
        sub_steps=sub_steps,
        step_definitions=step_definitions,
        source=source,
        outcomes=tuple(kept),
        feature_outcomes=feature_status,
    )


def run_status(capture: RunCapture, totals: Totals, hooks: Sequence[HookRow]) -> str:
    """``interrupted``/``sigterm``/``sighup`` when cut short, else ``failed`` or ``passed``."""
    if capture.ended_by:
        return capture.ended_by
    if any(h.failed for h in hooks) or totals.scenarios_failed:
        return "failed"
    if any(status_name(s.target) in ("failed", "error") for s in capture.scenarios):
        return "failed"
    return "passed"


# -- memory and time ---------------------------------------------------------------------------


def _memory(capture: RunCapture, origin_ns: int) -> Memory:
    t = capture.steps
    if not capture.memory_enabled or not len(t):
        return Memory(enabled=capture.memory_enabled)
    rss_values = t.rss_after
    count = len(rss_values)
    bucket = max(1, -(-count // MAX_SERIES_POINTS))
    series = []
    for i in range(0, count, bucket):
        # the first highest reading of the bucket, as max() picks it
        top = max(range(i, min(i + bucket, count)), key=rss_values.__getitem__)
        series.append((round((t.ends[top] - origin_ns) / 1e9, 4), _mb(rss_values[top])))
    return Memory(
        enabled=True,
        start_mb=_mb(t.rss_before[0]),
        end_mb=_mb(rss_values[-1]),
        peak_mb=_mb(max(rss_values)),
        series=tuple(series),
    )


def process_age_ns() -> int | None:
    """How long ago this process started, from ``/proc`` (10 ms resolution), else ``None``.

    ``/proc/self/stat`` gives the start in clock ticks since boot and ``CLOCK_BOOTTIME``
    the time since boot, so no wall-clock conversion (psutil's ``create_time`` rounds the
    boot time to whole seconds, which would be an error of up to a second).
    """
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])
        ticks = os.sysconf("SC_CLK_TCK")
        since_boot = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return since_boot - start_ticks * 1_000_000_000 // ticks


def _process_start(capture: RunCapture) -> tuple[int, str]:
    """Process start on the perf_counter scale, and where it came from."""
    wall_ns, perf_ns = capture.clock_anchor
    if capture.process_start_ns is not None:
        return perf_ns - (wall_ns - capture.process_start_ns), "given"
    previous = capture.previous_run_end_ns
    if previous is not None and previous <= perf_ns:
        return previous, "end of the previous run in this process"
    age = process_age_ns()
    if age is not None:
        return time.perf_counter_ns() - age, "/proc/self/stat"
    try:
        import psutil

        start_wall = int(psutil.Process().create_time() * 1e9)
    except Exception:  # psutil missing or failing: measure from the anchor
        return perf_ns, "clock anchor (process start unknown)"
    return perf_ns - (wall_ns - start_wall), "psutil create_time"


def _before_all_span(capture: RunCapture) -> tuple[int, int] | None:
    return next(((c.start_ns, c.end_ns) for c in capture.hooks if c.hook == "before_all"), None)


def _qhub_inside_before_all(capture: RunCapture) -> int:
    """qhub's own set-up time when ``install()`` ran inside the user's ``before_all``."""
    before_all = _before_all_span(capture)
    span = capture.run_started_span or (capture.clock_anchor[1], capture.clock_anchor[1])
    if before_all is None or not before_all[0] <= span[0] <= before_all[1]:
        return 0
    return capture.phases.get("qhub_install", 0) + (span[1] - span[0])


def _timeline(capture: RunCapture, start_ns: int, step_bodies_ns: int) -> Timeline:
    """Sort what was measured into before/after the first run event (see wall_clock)."""
    phases = dict(capture.phases)
    setup = phases.pop("qhub_install", 0)
    report_code = phases.pop(REPORT_CODE_PHASE, 0)
    # the runner's whole-phase figure covers every module; install() sees each module only
    modules = max(phases.pop("load_step_definitions", 0), sum(ns for _, ns in capture.step_modules))
    span = capture.run_started_span or (capture.clock_anchor[1], capture.clock_anchor[1])
    run_started = span[1] - span[0]
    before_all = _before_all_span(capture)
    after: dict[str, int] = {}
    charged = 0
    for call in capture.hooks:
        name = call.hook if call.hook in _RUN_LEVEL else f"hook:{call.hook}"
        after[name] = after.get(name, 0) + call.end_ns - call.start_ns - call.charged_ns
        charged += call.charged_ns
    t = capture.steps
    charged += sum(c for c, d in zip(t.charged, t.depths, strict=False) if not d)
    after["step_bodies"] = step_bodies_ns
    after["qhub_overhead"] = capture.overhead_ns
    before: dict[str, int] = {**phases, "step_modules": modules}
    inside = _qhub_inside_before_all(capture)
    if inside and before_all is not None:
        # install() inside the user's before_all: qhub's set-up is part of that span
        after["before_all"] = max(0, after["before_all"] - inside)
        after["qhub_setup"] = inside
        first_event = before_all[0]
    else:
        # runner mode: qhub was set up before before_all started
        before["qhub_setup"] = setup + run_started
        first_event = before_all[0] if before_all is not None else span[1]
    after["qhub_first_use"] = charged
    after[REPORT_CODE_PHASE] = report_code
    return Timeline(start_ns, capture.finished_ns, first_event, before, after)


# -- the record --------------------------------------------------------------------------------


def build_record(capture: RunCapture, meta: RunMeta) -> RunRecord:
    """The complete record of one run (or one worker's part of it).

    ``meta`` carries identity and provenance; its ``status`` and ``wall_ms`` are set here
    from the capture.
    """
    start_ns, start_source = _process_start(capture)
    step_rows, step_bodies_ns = aggregate_steps(capture)
    attribution = attribute(_timeline(capture, start_ns, step_bodies_ns), start_source)
    hooks = _hook_rows(capture, _qhub_inside_before_all(capture))
    totals = _totals(capture, len(step_rows), outcomes=meta.group_source != "own")
    worker = meta.worker_id
    wall_ns, perf_ns = capture.clock_anchor
    run = dataclasses.replace(
        meta,
        status=run_status(capture, totals, hooks),
        wall_ms=attribution.wall_ms,
        start_epoch_ms=round((wall_ns - (perf_ns - start_ns)) / 1e6, 3),
    )
    return RunRecord(
        run=run,
        totals=totals,
        attribution=attribution,
        step_definitions=tuple(step_rows),
        scenarios=tuple(_scenario_rows(capture, worker)),
        features=tuple(_feature_rows(capture, worker)),
        hooks=tuple(hooks),
        step_modules=tuple(ModuleRow(path=p, ms=_ms(ns)) for p, ns in capture.step_modules),
        methods=tuple(sorted(capture.methods, key=lambda m: -m.total_ms)),
        memory=_memory(capture, start_ns),
        stats=dict(capture.stats),
    )
