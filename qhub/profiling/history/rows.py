"""Rows shared by the SQL backends: the run columns read back, and what a part contributes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qhub.profiling.history.base import BEHAVE, RunSummary
from qhub.profiling.record import RunRecord

RUN_COLS = (
    "id, seq, parts, kind, finished_at, wall_ms, step_ms, status, pipeline, git_commit,"
    " git_branch, git_dirty, host, python, behave_version, qhub_version"
)
"""The columns :func:`summary_from_row` reads, in its order (both backends)."""


def lane_of(record: RunRecord) -> str | None:
    """The lane (CI shard) a part ran in: parts of one lane ran one after another."""
    return record.run.shard


def run_meta(record: RunRecord) -> dict[str, Any]:
    """The run-level provenance a part contributes to its run's row."""
    run = record.run
    return {
        "pipeline": run.pipeline, "git_commit": run.git_commit, "git_branch": run.git_branch,
        "git_dirty": run.git_dirty, "host": run.host, "python": run.python,
        "behave_version": run.behave_version, "qhub_version": run.qhub_version,
    }  # fmt: skip


def summary_from_row(row: Sequence[Any]) -> RunSummary:
    """A :class:`RunSummary` from a row of :data:`RUN_COLS` (either backend)."""
    (run_id, seq, parts, kind, finished, wall, steps, status, pipeline, commit, branch, dirty,
     host, python, behave, qhub) = row  # fmt: skip
    return RunSummary(
        id=str(run_id),
        seq=int(seq),
        parts=int(parts or 0),
        kind=str(kind or BEHAVE),
        finished_at=finished,
        wall_ms=wall,
        step_ms=steps,
        status=status,
        pipeline=pipeline,
        git_commit=commit,
        git_branch=branch,
        git_dirty=None if dirty is None else bool(dirty),
        host=host,
        python=python,
        behave_version=behave,
        qhub_version=qhub,
    )
