"""Building the run document (the JSON report, schema ``qhub.profile/1``) from raw records.

The document is the single source for every report format and for run history; see
``docs/profiling.md`` for the schema. Aggregation is by step definition (one row per
``@given(...)`` function, keyed by its ``file:line``) with the step texts that hit it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from qhub.profiling.aggregate import aggregate_steps, thin
from qhub.profiling.attribution import Timeline, attribute
from qhub.profiling.memory import MB
from qhub.profiling.stats import NS_PER_MS
from qhub.profiling.targets import PatternIndex, display_name, location, status_name

if TYPE_CHECKING:
    from qhub.profiling.observer import BehaveObserver

SCHEMA = "qhub.profile/1"
MAX_SERIES_POINTS = 600
"""Points of the memory-over-time series (bucket maxima)."""


def _ms(ns: int) -> float:
    return round(ns / NS_PER_MS, 3)


def _mb(b: int) -> float:
    return round(b / MB, 3)


def _scenarios(obs: BehaveObserver) -> list[dict[str, Any]]:
    rows = []
    for scenario, start, end, rss0, rss1, hook_ns, feature in obs.scenarios:
        steps = getattr(scenario, "steps", None)
        rows.append(
            {
                "key": location(scenario),
                "name": display_name(scenario),
                "feature": display_name(feature) if feature is not None else "",
                "status": status_name(scenario),
                "duration_ms": _ms(end - start),
                "hooks_ms": _ms(hook_ns),
                "steps": len(steps) if isinstance(steps, list) else None,
                "rss_start_mb": _mb(rss0),
                "rss_end_mb": _mb(rss1),
                "rss_delta_mb": _mb(rss1 - rss0),
            }
        )
    return rows


def _features(obs: BehaveObserver) -> list[dict[str, Any]]:
    return [
        {
            "key": location(feature),
            "name": display_name(feature),
            "status": status_name(feature),
            "duration_ms": _ms(end - start),
            "rss_delta_mb": _mb(rss1 - rss0),
        }
        for feature, start, end, rss0, rss1 in obs.features
    ]


def _hooks(obs: BehaveObserver) -> list[dict[str, Any]]:
    return sorted(
        (
            {
                "hook": hook,
                "count": count,
                "total_ms": _ms(total),
                "mean_ms": _ms(total // count) if count else 0.0,
                "max_ms": _ms(peak),
                "failed": failed,
            }
            for hook, (count, total, peak, failed) in obs.hooks.items()
        ),
        key=lambda h: -h["total_ms"],
    )


def _memory(obs: BehaveObserver, origin_ns: int, enabled: bool) -> dict[str, Any]:
    if not enabled or not obs.steps:
        return {"enabled": enabled, "series": []}
    steps = obs.steps
    rss_values = [record[4] for record in steps]
    count = len(rss_values)
    bucket = max(1, -(-count // MAX_SERIES_POINTS))
    series = []
    for i in range(0, count, bucket):
        # the first highest reading of the bucket, as max() picks it
        top = max(range(i, min(i + bucket, count)), key=rss_values.__getitem__)
        series.append([round((steps[top][2] - origin_ns) / 1e9, 4), _mb(rss_values[top])])
    return {
        "enabled": True,
        "start_mb": _mb(steps[0][3]),
        "end_mb": _mb(rss_values[-1]),
        "peak_mb": _mb(max(rss_values)),
        "series": series,
    }


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


def _process_start(obs: BehaveObserver, anchor: tuple[int, int]) -> tuple[int, str]:
    """Process start on the perf_counter scale, and where it came from."""
    wall_ns, perf_ns = anchor
    if obs.process_start_ns is not None:
        return perf_ns - (wall_ns - obs.process_start_ns), "given"
    age = process_age_ns()
    if age is not None:
        return time.perf_counter_ns() - age, "/proc/self/stat"
    try:
        import psutil

        start_wall = int(psutil.Process().create_time() * 1e9)
    except Exception:  # psutil missing or failing: measure from the anchor
        return perf_ns, "clock anchor (process start unknown)"
    return perf_ns - (wall_ns - start_wall), "psutil create_time"


def _timeline(
    obs: BehaveObserver, start_ns: int, end_ns: int, anchor: tuple[int, int], step_bodies_ns: int
) -> Timeline:
    """Sort what was measured into before/after the first run event (see attribution)."""
    phases = dict(obs.phases)
    setup = phases.pop("qhub_install", 0)
    # the runner's whole-phase figure covers every module; install() sees each module only
    modules = max(phases.pop("load_step_definitions", 0), sum(ns for _, ns in obs.step_modules))
    span = obs.run_started_span or (anchor[1], anchor[1])
    run_started = span[1] - span[0]
    before_all = obs.hook_spans.get("before_all")
    after: dict[str, int] = {
        f"hook:{hook}" if hook not in ("before_all", "after_all") else hook: agg[1]
        for hook, agg in obs.hooks.items()
    }
    after["step_bodies"] = step_bodies_ns
    after["qhub_overhead"] = obs.overhead_ns
    before: dict[str, int] = {**phases, "step_modules": modules}
    if before_all is not None and before_all[0] <= span[0] <= before_all[1]:
        # install() inside the user's before_all: qhub's set-up is part of that span
        after["before_all"] = max(0, after["before_all"] - setup - run_started)
        after["qhub_setup"] = setup + run_started
        first_event = before_all[0]
    else:
        # runner mode: qhub was set up before before_all started
        before["qhub_setup"] = setup + run_started
        first_event = before_all[0] if before_all is not None else span[1]
    return Timeline(start_ns, end_ns, first_event, before, after)


def build_document(
    obs: BehaveObserver, stats: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    """The complete run document for ``obs`` (analysis and history are added later)."""
    end_ns = obs.finished_ns if obs.finished_ns is not None else obs._clock()
    anchor = obs.clock_anchor or (time.time_ns(), end_ns)
    start_ns, start_source = _process_start(obs, anchor)
    step_rows, step_bodies_ns = aggregate_steps(obs.steps, PatternIndex(resolver=obs.resolver))
    attribution = attribute(_timeline(obs, start_ns, end_ns, anchor, step_bodies_ns))
    attribution["process_start_source"] = start_source
    statuses: dict[str, int] = {}
    for row in step_rows:
        for status, count in row["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    scenarios = _scenarios(obs)
    return {
        "schema": SCHEMA,
        "run": {
            **meta,
            "wall_ms": attribution["wall_ms"],
            "workers": 1,
        },
        "totals": {
            "features": len(obs.features),
            "rules": obs.rules,
            "scenarios": len(scenarios),
            "scenarios_failed": sum(1 for s in scenarios if s["status"] == "failed"),
            "steps": len(obs.steps),
            "step_statuses": statuses,
            "step_definitions": len(step_rows),
        },
        "attribution": attribution,
        "step_definitions": step_rows,
        "scenarios": scenarios,
        "features": _features(obs),
        "hooks": _hooks(obs),
        "step_modules": [{"path": p, "ms": _ms(ns)} for p, ns in obs.step_modules],
        "methods": _methods(obs),
        "memory": _memory(obs, start_ns, obs._memory),
        "stats": stats,
    }


def _methods(obs: BehaveObserver) -> list[dict[str, Any]]:
    """Blocks and methods timed with ``context.profiler`` during the run, with samples."""
    samples = obs.profiler.samples_ms()
    rows = obs.profiler.method_rows()
    for row in rows:
        row["samples_ms"] = [round(s, 3) for s in thin(samples[row["method"]])]
    return sorted(rows, key=lambda r: -r["total_ms"])
