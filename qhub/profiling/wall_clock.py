"""Wall-clock attribution: the run's real wall time split into parts that add up.

behave's own "Took" line and JSON durations leave out hooks, ``environment.py``, step
loading and interpreter start-up. Here the run is measured from the *process start* (as
the OS recorded it) to the end of the run, and cut into:

``startup``        interpreter start, imports, behave's config, before anything measured
``load_hooks``     loading ``environment.py`` (when the integration could measure it)
``step_modules``   executing the step-definition modules
``parse_features`` parsing feature files (when measured)
``before_all`` / ``after_all`` and one part per other hook kind (``hook:before_step`` ...)
``step_bodies``    the step functions themselves
``qhub_setup``     ``install()`` and the run's start: config, the profiler
``qhub_first_use`` qhub's tools built where first used (API clients and their imports,
                   schema compilation, cache and test data), charged to qhub, not to the
                   step or hook that asked for them
``qhub_report_code`` loading qhub's end-of-run code (record, history, reports) when the
                   run ends, on first use
``qhub_overhead``  time spent in qhub's own bookkeeping callbacks
``behave_other``   the remainder: behave's own work between all of the above
"""

from __future__ import annotations

from collections.abc import Mapping

from qhub._figures import percent
from qhub._record import frozen_record
from qhub.profiling.record import Attribution, Part
from qhub.profiling.timings import NS_PER_MS

LABELS = {
    "startup": "interpreter start-up, imports, behave set-up",
    "load_hooks": "loading environment.py",
    "step_modules": "loading step modules",
    "parse_features": "parsing feature files",
    "before_all": "before_all hook",
    "after_all": "after_all hook",
    "step_bodies": "step bodies",
    "qhub_setup": "qhub set-up (config, profiler)",
    "qhub_first_use": "qhub tools built on first use (API clients, schemas, cache, data)",
    "qhub_report_code": "loading qhub's end-of-run code (record, history, reports)",
    "qhub_overhead": "qhub overhead (profiler callbacks)",
    "behave_other": "behave overhead (remainder)",
}


@frozen_record(slots=False)
class Timeline:
    """What attribution needs, all on the ``perf_counter_ns`` scale.

    ``before`` holds parts measured entirely between process start and ``first_event_ns``
    (step-module loading, ``environment.py``, feature parsing, qhub's set-up in runner
    mode); ``after`` holds parts measured after it (hooks, step bodies, callbacks). A name
    may appear in both; the two are added.
    """

    process_start_ns: int
    end_ns: int
    first_event_ns: int
    """When the measured run begins (start of before_all, else the clock anchor)."""
    before: Mapping[str, int]
    after: Mapping[str, int]


ORDER = (
    "startup", "load_hooks", "step_modules", "parse_features", "qhub_setup", "qhub_first_use",
    "before_all", "after_all", "step_bodies", "qhub_overhead", "qhub_report_code",
)  # fmt: skip


def attribute(t: Timeline, process_start_source: str = "") -> Attribution:
    """Parts in ms that add up to ``end - process_start`` (the remainder absorbs the rest)."""
    wall = max(0, t.end_ns - t.process_start_ns)
    parts: dict[str, int] = {
        "startup": max(0, t.first_event_ns - t.process_start_ns - sum(t.before.values()))
    }
    for source in (t.before, t.after):
        for name, ns in source.items():
            parts[name] = parts.get(name, 0) + max(0, ns)
    ordered = {name: parts.pop(name) for name in ORDER if name in parts}
    ordered.update(sorted(parts.items()))
    ordered["behave_other"] = max(0, wall - sum(ordered.values()))
    total = sum(ordered.values())
    return Attribution(
        wall_ms=round(wall / NS_PER_MS, 3),
        parts_total_ms=round(total / NS_PER_MS, 3),
        measured_from="process start",
        process_start_source=process_start_source,
        parts=tuple(
            Part(
                name=name,
                label=LABELS.get(name, name.replace("hook:", "") + " hooks"),
                ms=round(ns / NS_PER_MS, 3),
                percent=percent(ns, wall),
            )
            for name, ns in ordered.items()
        ),
    )
