"""The end of a profiled run: build the record, record it, judge it, write the reports.

:func:`finish_run` is the whole pipeline, in order:

1. build the frozen :class:`~qhub.profiling.record.RunRecord` of this process's part from
   the collector's capture (:mod:`qhub.profiling.build`), with provenance;
2. under the history lock (bounded wait), add the part to the run history and merge it
   with the other parts of its run (parallel workers);
3. judge the run against the baseline and build the :class:`~qhub.profiling.reporting.
   Report`, write the configured report files (atomically) and render the summary.

What cannot be done is said in one warning line and skipped, never raised: a history that
is locked, read-only, foreign or damaged still leaves the reports written (from this
part alone); a bad baseline file leaves the run "without baseline".

**behavex.** A behavex worker process runs many parts of one run (one per feature or
scenario) and nothing tells it which is the last. Its parts are only recorded; when the
worker process exits (behavex shuts its pool down after the last task), the last worker
to leave merges the run and writes the one report and the one summary (to stderr).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qhub._record import frozen_record
from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.build import build_record
from qhub.profiling.capture import RunCapture
from qhub.profiling.history import RunHistory, run_figures
from qhub.profiling.merge import merge_records
from qhub.profiling.provenance import (
    Group,
    collect_meta,
    detect_group,
    git_info,
    new_part_id,
)
from qhub.profiling.record import RunRecord
from qhub.profiling.recording import history_lock, open_for_recording
from qhub.profiling.render import write_reports
from qhub.profiling.render.terminal_summary import render_summary, summary_options
from qhub.profiling.reporting import Report, build_report
from qhub.profiling.run_start import START

if TYPE_CHECKING:
    from qhub.config import QHubConfig


@frozen_record
class RunOutcome:
    """What the end of a run produced."""

    record: RunRecord
    """This process's part."""
    report: Report | None
    """The run's report (``None`` for a behavex worker's part: the last worker reports)."""
    written: tuple[Path, ...] = ()
    summary: str | None = None
    """The terminal summary to print (``None`` when off or not this process's to print)."""


_COORDINATED: dict[str, tuple[QHubConfig, str]] = {}
"""behavex runs this worker process took part in: run id -> (config, worker name)."""


def _report(
    config: QHubConfig, history: RunHistory | None, record: RunRecord, notes: list[str]
) -> tuple[Report, tuple[Path, ...]]:
    if history is not None:
        try:  # before the report, whose trend includes this run
            parts = max(1, len(record.run.parts))
            history.set_figures(record.run.id, run_figures(record), parts=parts)
        except ProfilerError as exc:
            warn(f"{exc}; the trend misses this run")
    report = build_report(
        config, history, [record], notes=notes, stress="html" in config.report.formats
    )
    options = summary_options(config.report)
    written = write_reports(
        report, config.path(config.report.dir), list(config.report.formats), options
    )
    return report, tuple(written)


def _summary(config: QHubConfig, report: Report, written: tuple[Path, ...]) -> str | None:
    if not config.report.summary:
        return None
    return render_summary(report, summary_options(config.report, written))


def finish_run(capture: RunCapture, config: QHubConfig) -> RunOutcome:
    """Record, judge and report one process's part of a run (see the module docstring)."""
    part_id = new_part_id()
    group = detect_group(part_id)
    dirty = START.dirty.result() if START.dirty is not None else None
    meta = collect_meta(
        capture.meta,
        part_id=part_id,
        group=group,
        git=git_info(config.root),
        dirty=dirty,
        started_at=START.started_at,
    )
    record = build_record(capture, meta)
    notes: list[str] = []
    with history_lock(config) as lock_problem:
        history = open_for_recording(config, lock_problem)
        if history is None:
            notes.append("run history unavailable: this run is not recorded, nothing compared")
        try:
            if history is not None:
                try:
                    history.add_part(record)
                except ProfilerError as exc:
                    warn(f"{exc}; this run is not recorded (the reports are still written)")
                    notes.append(f"not recorded: {exc}")
            if group.coordinated and history is not None and not notes:
                return _join(config, history, group, record)
            run = _merged_run(history, record) if group.source != "own" else record
            report, written = _report(config, history, run, [*notes, *_config_notes(config)])
        finally:
            if history is not None:
                history.close()
    # a behavex worker's part that could not join its run still gets its report written, but
    # no summary: one per part would be one per scenario
    summary = None if group.coordinated else _summary(config, report, written)
    return RunOutcome(record, report, written, summary)


def _config_notes(config: QHubConfig) -> list[str]:
    """Settings taken from unprefixed environment variables, which are often another
    tool's (``REDIS_URL``): named in the summary so a surprise is seen, not guessed."""
    named = config.unprefixed_summary()
    if not named:
        return []
    return [f"settings from unprefixed environment variables: {named} (QHUB_<same name> overrides)"]


def _merged_run(history: RunHistory | None, record: RunRecord) -> RunRecord:
    """This run's parts merged (this part included even when history could not keep it)."""
    if history is None:
        return record
    try:
        parts = history.parts(record.run.id)
    except ProfilerError as exc:
        warn(f"{exc}; reporting this part alone")
        return record
    if all(p.run.part != record.run.part for p in parts):
        parts.append(record)
    return merge_records(parts)


# -- behavex: the last worker to exit reports ---------------------------------------------------


def _join(config: QHubConfig, history: RunHistory, group: Group, record: RunRecord) -> RunOutcome:
    worker = group.worker_id or record.run.part
    try:
        history.join_run(group.id, worker)
    except ProfilerError as exc:
        warn(f"{exc}; this behavex run will not get a merged report")
        return RunOutcome(record, None)
    if not _COORDINATED:
        _at_worker_exit(_finish_coordinated)
    _COORDINATED[group.id] = (config, worker)
    return RunOutcome(record, None)


def _at_worker_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` when this pool worker exits (multiprocessing runs its finalizers)."""
    from multiprocessing import util

    util.Finalize(None, callback, exitpriority=10)


def _finish_coordinated() -> None:
    """This worker is done: if it was the last of its run, merge, report and summarise."""
    for run_id, (config, worker) in list(_COORDINATED.items()):
        _COORDINATED.pop(run_id, None)
        try:
            _finish_one(config, run_id, worker)
        except Exception as exc:  # never fail a worker's exit over a report
            warn(f"profiling report failed: {type(exc).__name__}: {exc}", exc_info=True)


def _finish_one(config: QHubConfig, run_id: str, worker: str) -> None:
    with history_lock(config) as lock_problem:
        history = open_for_recording(config, lock_problem)
        if history is None:
            return
        try:
            if not history.leave_run(run_id, worker):
                return
            parts = history.parts(run_id)
            if not parts:
                return
            report, written = _report(config, history, merge_records(parts), [])
        finally:
            history.close()
    summary = _summary(config, report, written)
    if summary:
        stream = sys.__stderr__ or sys.stderr
        with contextlib.suppress(OSError, ValueError):
            stream.write(summary)
            stream.flush()
