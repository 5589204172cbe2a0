"""Run history behind one small interface, so storage engines are interchangeable.

:class:`~qhub.profiling.history.base.RunHistory` is what the end-of-run pipeline, the
verdict and the CLI use; the embedded default is
:class:`~qhub.profiling.history.sqlite.SQLiteHistory` (``profiling.history_db``). A history
stores *parts* (one per process: a behavex worker, a ``QHUB_RUN_ID`` worker, or the whole
run) and keeps one *run* per run id, whose summary is recomputed as parts arrive. It also
keeps compact per-item figures per run (for trends), pinned baselines, and the workers
still running a coordinated run.

:func:`open_history` opens the configured history for writing (at the end of a run) or
read-only (``qhub check``, ``qhub report``, ``qhub baseline show``: they never create a
file or folder).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.profiling.history.base import (
    Figures,
    HistoryUnavailableError,
    PinnedBaseline,
    RunHistory,
    RunSummary,
)
from qhub.profiling.record import RunRecord

if TYPE_CHECKING:
    from qhub.config import QHubConfig

__all__ = [
    "Figures",
    "HistoryUnavailableError",
    "PinnedBaseline",
    "RunHistory",
    "RunSummary",
    "open_history",
    "run_figures",
]


def open_history(config: QHubConfig, *, readonly: bool = False) -> RunHistory:
    """The configured history.

    Writable: created when missing; a file SQLite proves corrupt is quarantined and a new
    one started (announced once). Read-only: :class:`ProfilerError` when there is none yet;
    nothing is created or moved. :class:`HistoryUnavailableError` when it cannot be used.
    """
    from qhub.profiling.history.sqlite import SQLiteHistory

    settings = config.profiling
    return SQLiteHistory(
        config.path(settings.history_db),
        retention=settings.history_retention,
        timeout_s=settings.history_timeout_s,
        readonly=readonly,
        root=config.root,
    )


def run_figures(record: RunRecord) -> dict[str, dict[str, tuple[float, int]]]:
    """The per-item figures of one (merged) run record, as stored for trends."""
    return {
        "step_definition": {r.key: (r.p50_ms, r.count) for r in record.step_definitions},
        "scenario": {s.key: (s.duration_ms, 1) for s in record.scenarios},
        "method": {m.method: (m.p50_ms, m.count) for m in record.methods},
    }
