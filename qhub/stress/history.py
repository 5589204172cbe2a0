"""Stress runs in the run history: recorded as kind ``stress``, read back as untrusted.

Every ``qhub stress`` run that got to its load — a stopped one too, with status
``interrupted`` — is stored as one part of its own run: kind
:data:`~qhub.profiling.history.STRESS`, its ``StressResult.as_dict()`` as the document
(known secrets scrubbed by the history). It goes through the door the end of a behave run
uses (:func:`qhub.profiling.recording.recording_history`), so SQLite and PostgreSQL
histories behave alike, and a history that is locked, read-only or unreachable costs one
warning line: the reports are still written and the exit code is the run's own.

Reading back: a stored document may be hostile (a shared database, an imported file), so
one that is not a stress document of the expected shape is a miss, said once, never an
exception later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history import STRESS, RunHistory, RunSummary
from qhub.stress.result import SCHEMA, StressResult


def run_status(result: StressResult) -> str:
    """``interrupted`` (a signal, or users abandoned), ``failed`` (a budget violated) or
    ``passed``: the status the history lists the run with."""
    if result.interrupted:
        return "interrupted"
    return "failed" if result.budgets_failed else "passed"


def record_run(history: RunHistory | None, result: StressResult) -> bool:
    """Store ``result`` in ``history`` (None: unavailable, said already); False when it
    could not be stored (said once)."""
    from qhub.profiling.provenance import ci_pipeline

    if history is None:
        return False
    try:
        history.add_document(
            result.as_dict(),
            run_id=result.run_id,
            part=result.run_id,
            kind=STRESS,
            status=run_status(result),
            wall_ms=round(result.elapsed_s * 1000.0, 3),
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            pipeline=ci_pipeline(),
        )
    except ProfilerError as exc:
        warn(
            f"{exc}; this stress run is not recorded (the reports are still written)",
            once=f"stress-history:{exc}",
        )
        return False
    return True


def stress_runs(history: RunHistory, limit: int | None = None) -> list[RunSummary]:
    """The stress runs in ``history``, newest first."""
    return history.runs(limit, kind=STRESS)


def previous_document(history: RunHistory | None) -> dict[str, Any] | None:
    """The newest stress run's document: what the next run is compared with.

    Only the history is read, never the ``stress.json`` in the report folder: the history
    is the record of runs (shared between CI runners, pruned by retention, one kind apart
    from the other), while the report file is an output that another branch, a run whose
    recording failed or a hand may have replaced. Comparing with it would make the verdict
    depend on which folder the run happened to start in.
    """
    if history is None:
        return None
    try:
        runs = stress_runs(history, 1)
    except ProfilerError as exc:
        warn(f"{exc}; not compared with the previous stress run", once=f"stress-prev:{exc}")
        return None
    return load_document(history, runs[0].id) if runs else None


def load_document(history: RunHistory, run_id: str) -> dict[str, Any] | None:
    """The stored document of stress run ``run_id`` (its newest part), or None when it is
    missing, damaged or not a stress document of this layout (said once)."""
    try:
        parts = history.documents(run_id)
    except ProfilerError as exc:
        warn(f"{exc}; stress run {run_id} not read", once=f"stress-doc:{run_id}")
        return None
    if not parts:
        return None
    document = parts[-1].document
    problem = document_problem(document)
    if problem is not None:
        warn(
            f"stress run {run_id} in {history.location} is not usable ({problem}); ignored",
            once=f"stress-doc:{run_id}",
        )
        return None
    return dict(document)


def document_problem(document: Any) -> str | None:
    """Why ``document`` is not a stored stress run that can be compared, else None."""
    if not isinstance(document, Mapping):
        return "not an object"
    if document.get("kind") != "stress":
        return f"kind {str(document.get('kind'))[:40]!r}, not 'stress'"
    if document.get("schema") != SCHEMA:
        return f"layout {str(document.get('schema'))[:20]!r}, this qhub reads {SCHEMA}"
    if not isinstance(document.get("run_id"), str):
        return "no run id"
    if not isinstance(document.get("plan"), Mapping):
        return "no plan"
    histograms = document.get("histograms")
    if not isinstance(histograms, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in histograms.items()
    ):
        return "no histograms"
    return None


__all__ = [
    "document_problem",
    "load_document",
    "previous_document",
    "record_run",
    "run_status",
    "stress_runs",
]
