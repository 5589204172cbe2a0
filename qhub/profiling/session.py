"""The end of a profiled run, and report building from history (shared with the CLI).

:func:`complete_run` records the run, merges it with the other workers of its group,
analyses it against the baseline and writes the reports. Recording, merging and writing
happen under an exclusive file lock next to the history database, so with parallel workers
the last one to finish writes the report that includes every worker.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub._warn import shown_path, warn
from qhub.profiling.analysis import analyse, samples_of
from qhub.profiling.baseline import Baseline, read_baseline
from qhub.profiling.document import build_document
from qhub.profiling.history import History
from qhub.profiling.merge import merge_documents
from qhub.profiling.runmeta import collect_meta, new_run_id

if TYPE_CHECKING:
    from qhub.config import QHubConfig
    from qhub.profiling.observer import BehaveObserver

log = logging.getLogger("qhub.profiling")

TREND_RUNS = 50


def open_history(config: QHubConfig) -> History:
    """The configured history database; a corrupt one is moved aside and started afresh.

    The move is announced on stderr in one line (see :func:`announce_quarantine`).
    """
    path = config.path(config.profiling.history_db)
    history = History(path, config.profiling.history_retention, quarantine=True)
    announce_quarantine(config, history)
    return history


def announce_quarantine(config: QHubConfig, history: History) -> None:
    """Tell the user, once, that an unreadable history database was moved aside."""
    moved, history.quarantined = history.quarantined, None
    if moved is not None:
        warn(
            f"history database {shown_path(history.path, config.root)} was unreadable;"
            f" moved to {shown_path(moved, config.root)}; starting a new one"
        )


@contextlib.contextmanager
def history_lock(config: QHubConfig) -> Iterator[None]:
    """Exclusive lock serialising record-merge-write across worker processes."""
    path = config.path(config.profiling.history_db)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite still serialises the writes
        yield
        return
    with open(f"{path}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resolve_baseline(config: QHubConfig, history: History) -> tuple[Baseline | None, str | None]:
    """The baseline file when configured and present, else the baseline pinned in history."""
    settings = config.profiling
    if settings.baseline_file:
        path = config.path(settings.baseline_file)
        if path.exists():
            return read_baseline(path), f"file:{path}"
    pinned = history.baseline()
    if pinned is None:
        return None, None
    docs = [history.load(run_id) for run_id in pinned["runs"]]
    baseline = samples_of(docs)
    baseline.created_at = pinned["created_at"]
    return baseline, "history:default"


def trend(
    history: History, baseline: Baseline | None, current_group: str | None
) -> list[dict[str, Any]]:
    """The last run groups, oldest first, with the baseline's and the current run marked."""
    pinned = set(baseline.runs) if baseline is not None else set()
    return [
        {
            "group": g["group"],
            "finished_at": g["finished_at"],
            "wall_ms": g["wall_ms"],
            "step_ms": g["step_ms"],
            "workers": g["workers"],
            "git_commit": g["git_commit"],
            "baseline": bool(pinned & set(g["runs"])),
            "current": g["group"] == current_group,
        }
        for g in reversed(history.groups(TREND_RUNS))
    ]


def build_report(
    config: QHubConfig,
    history: History,
    docs: list[dict[str, Any]],
    threshold_percent: float | None = None,
) -> dict[str, Any]:
    """The full report document over ``docs`` (one run or one group's workers)."""
    baseline, source = resolve_baseline(config, history)
    report = merge_documents(docs)
    report = dict(report)
    report["analysis"] = analyse(docs, config.profiling, baseline, source, threshold_percent)
    report["history"] = trend(history, baseline, report["run"].get("group"))
    return report


def report_from_history(
    config: QHubConfig,
    history: History,
    *,
    run_id: str | None = None,
    group: str | None = None,
    last: int = 1,
    threshold_percent: float | None = None,
) -> dict[str, Any]:
    """Rebuild a report: one run, one group, or the newest ``last`` groups (merged)."""
    from qhub.exceptions import ProfilerError

    if run_id is not None:
        docs = [history.load(run_id)]
    elif group is not None:
        docs = history.group_documents(group)
        if not docs:
            raise ProfilerError(f"no run group {group!r} in {history.path}")
    else:
        groups = history.groups(last)
        if not groups:
            raise ProfilerError(
                f"no runs recorded in {history.path} yet: run behave with qhub first"
            )
        docs = [doc for g in reversed(groups) for doc in history.group_documents(g["group"])]
    return build_report(config, history, docs, threshold_percent)


def complete_run(
    obs: BehaveObserver, stats: dict[str, Any], *, defer_summary: bool = False
) -> list[Path]:
    """Record, analyse and report the observer's run; returns the files written.

    With ``defer_summary`` the terminal summary is kept on the observer and printed by
    :meth:`BehaveObserver.print_summary` (after behave's own totals).
    """
    from qhub.profiling.reports import write_reports

    config = obs.config
    meta = collect_meta(config.root, obs.meta, new_run_id())
    meta["status"] = _status(obs)
    doc = build_document(obs, stats, meta)
    obs.document = doc
    with history_lock(config):
        history = open_history(config)
        try:
            try:
                history.record(doc)
            except sqlite3.DatabaseError as exc:  # pages broken past the header
                if "locked" in str(exc) or "busy" in str(exc):
                    raise
                history.quarantine()
                announce_quarantine(config, history)
                history.record(doc)
            docs = history.group_documents(doc["run"]["group"])
            report = build_report(config, history, docs)
        finally:
            history.close()
        written = write_reports(report, config.path(config.report.dir), config.report.formats)
    if config.report.summary:
        obs.pending_summary = (report, written)
        if not defer_summary:
            obs.print_summary()
    return written


def _status(obs: BehaveObserver) -> str:
    if obs.interrupted:
        return "interrupted"
    if any(agg[3] for agg in obs.hooks.values()):
        return "failed"
    from qhub.profiling.targets import status_name

    if any(status_name(s[0]) in ("failed", "error") for s in obs.scenarios):
        return "failed"
    return "passed"
