"""Opening the run history to record a run: under its lock, and never failing the run.

The end of a behave run and ``qhub stress`` record through the same door, so a SQLite file
and a PostgreSQL history behave alike for both, and so do their failures: a history that is
locked, read-only, unreachable or foreign is said in one warning line and the run goes on
unrecorded (its reports are still written, its exit code is its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history import RunHistory, open_history

if TYPE_CHECKING:
    from qhub.config import QHubConfig


@contextlib.contextmanager
def history_lock(config: QHubConfig) -> Iterator[str | None]:
    """The history lock (bounded wait); yields ``None``, or why it could not be had.

    Without the lock the run goes on: SQLite still serialises the writes; only the "last
    worker writes the full report" ordering is lost. A PostgreSQL history needs no file
    lock (and a local one could not reach other machines): it serialises the writes of
    one run itself (advisory locks), and stale figures are never stored (see
    :meth:`~qhub.profiling.history.RunHistory.set_figures`).
    """
    from qhub._locks import LockUnavailableError, file_lock

    if config.profiling.history_url:
        yield None
        return
    path = Path(f"{config.path(config.profiling.history_db)}.lock")
    try:
        with file_lock(path, config.profiling.history_timeout_s, what="run history lock"):
            yield None
            return
    except LockUnavailableError as exc:
        problem = str(exc)
    yield problem


def open_for_recording(config: QHubConfig, lock_problem: str | None) -> RunHistory | None:
    """The writable history, or ``None`` (said once: the history's problem, else the
    lock's)."""
    try:
        history = open_history(config)
    except ProfilerError as exc:
        warn(
            f"{exc}; this run is not recorded (the reports are still written)",
            once=f"history-unavailable:{exc}",
        )
        return None
    if lock_problem is not None:
        warn(f"{lock_problem}; recording without it", once=f"history-lock:{lock_problem}")
    return history


@contextlib.contextmanager
def recording_history(config: QHubConfig) -> Iterator[RunHistory | None]:
    """The writable history under its lock for the block, closed after; ``None`` when it
    cannot be used (said once)."""
    with history_lock(config) as lock_problem:
        history = open_for_recording(config, lock_problem)
        try:
            yield history
        finally:
            if history is not None:
                history.close()


__all__ = ["history_lock", "open_for_recording", "recording_history"]
