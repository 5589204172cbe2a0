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

from qhub._redact import redact_url
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import (
    BEHAVE,
    STRESS,
    Figures,
    HistoryUnavailableError,
    NothingRecordedError,
    PinnedBaseline,
    RunHistory,
    RunSummary,
    StoredPart,
)
from qhub.profiling.record import RunRecord

if TYPE_CHECKING:
    from qhub.config import QHubConfig

__all__ = [
    "BEHAVE",
    "STRESS",
    "Figures",
    "HistoryUnavailableError",
    "NothingRecordedError",
    "PinnedBaseline",
    "RunHistory",
    "RunSummary",
    "StoredPart",
    "is_url",
    "open_history",
    "open_history_at",
    "run_figures",
]

_URL_SCHEMES = ("postgresql://", "postgres://")
_NOT_RUN = ("skipped", "untested")
"""Scenario statuses whose time says nothing about the scenario (a shard skips the rest)."""


def open_history(config: QHubConfig, *, readonly: bool = False) -> RunHistory:
    """The configured history: ``profiling.history_url`` when set, else ``history_db``.

    Writable: created when missing (a SQLite file SQLite proves corrupt is quarantined and a
    new one started, announced once). Read-only: :class:`ProfilerError` when there is none
    yet; nothing is created or moved. :class:`HistoryUnavailableError` when it cannot be
    used (locked, unreachable, psycopg missing...).
    """
    settings = config.profiling
    return open_history_at(settings.history_url or settings.history_db, config, readonly=readonly)


def is_url(target: str) -> bool:
    """True for a database URL (PostgreSQL), False for a SQLite file path."""
    return target.lower().startswith(_URL_SCHEMES)


def open_history_at(target: str, config: QHubConfig, *, readonly: bool = False) -> RunHistory:
    """The history at ``target``: a ``postgresql://`` URL or a SQLite file path (relative
    paths from the config's root), with the configured retention and time limits."""
    settings = config.profiling
    if is_url(target):
        from qhub.profiling.history.postgres import PostgresHistory

        return PostgresHistory(
            target,
            retention=settings.history_retention,
            timeout_s=settings.history_timeout_s,
            connect_timeout_s=settings.history_connect_timeout_s,
            statement_timeout_s=settings.history_statement_timeout_s,
            readonly=readonly,
        )
    if "://" in target:
        raise ProfilerError(
            f"{redact_url(target)} is not a run history: give a postgresql:// URL or a file path"
        )
    from qhub.profiling.history.sqlite import SQLiteHistory

    return SQLiteHistory(
        config.path(target),
        retention=settings.history_retention,
        timeout_s=settings.history_timeout_s,
        readonly=readonly,
        root=config.root,
    )


def run_figures(record: RunRecord) -> dict[str, dict[str, tuple[float, int]]]:
    """The per-item figures of one (merged) run record, as stored for trends."""
    features: dict[str, tuple[float, int]] = {}
    for f in record.features:  # a feature seen by several parts: the one that ran it
        if f.key not in features or f.duration_ms > features[f.key][0]:
            features[f.key] = (f.duration_ms, 1)
    return {
        "step_definition": {r.key: (r.p50_ms, r.count) for r in record.step_definitions},
        "scenario": {
            s.key: (s.duration_ms, 1) for s in record.scenarios if s.status not in _NOT_RUN
        },
        "method": {m.method: (m.p50_ms, m.count) for m in record.methods},
        "feature": features,
    }
