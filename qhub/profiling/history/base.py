"""The history interface (:class:`RunHistory`) and the values it hands out.

Backends implement :class:`RunHistory`; see :mod:`qhub.profiling.history` for the one
way to open the configured one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from qhub._record import frozen_record
from qhub.exceptions import ProfilerError
from qhub.profiling.record import RunRecord


class HistoryUnavailableError(ProfilerError):
    """The history cannot be used right now (locked, read-only, full disk, foreign file...).

    Not corruption: nothing is moved aside; the run goes on without recording.
    """


class NothingRecordedError(ProfilerError):
    """A read-only open found no history yet (no file, or an empty database): not a fault,
    just nothing to read; commands say so instead of failing as on damage."""


BEHAVE = "behave"
"""The kind of a normal behave run (the default everywhere)."""
STRESS = "stress"
"""The kind of a ``qhub stress`` run: kept apart from normal runs' trends and baselines."""


@frozen_record
class RunSummary:
    """One run as listed by the history (no documents loaded)."""

    id: str
    seq: int
    parts: int
    kind: str = BEHAVE
    finished_at: str | None = None
    wall_ms: float | None = None
    step_ms: float | None = None
    status: str | None = None
    pipeline: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    python: str | None = None
    behave_version: str | None = None
    qhub_version: str | None = None


@frozen_record
class PinnedBaseline:
    """Runs pinned as a named baseline."""

    name: str
    created_at: str
    runs: tuple[str, ...]


@frozen_record
class StoredPart:
    """One stored part as it is kept: its columns and its JSON document (for export)."""

    part: str
    kind: str
    status: str | None
    wall_ms: float | None
    finished_at: str | None
    document: dict[str, Any]


Figures = Mapping[str, Mapping[str, tuple[float, int]]]
"""kind -> item key -> (median ms, sample count): what trends are drawn from."""


class RunHistory(Protocol):
    """What every history backend provides.

    Runs have a *kind*: ``behave`` (the default of every method) or another kind such as
    ``stress``; listing, trends and baselines see one kind at a time, and retention keeps
    the newest runs of each kind. Writes are safe from many processes at once; every wait
    is bounded; a backend that cannot be reached raises :class:`HistoryUnavailableError`.
    """

    location: str
    """Where it lives, for messages (a path, or a URL with its password redacted)."""
    readonly: bool

    def add_part(self, record: RunRecord, *, kind: str = BEHAVE) -> None:
        """Store one part; creates its run or updates the run's summary; applies retention."""

    def add_document(
        self,
        document: Mapping[str, Any],
        *,
        run_id: str,
        part: str,
        kind: str,
        status: str = "passed",
        wall_ms: float = 0.0,
        finished_at: str = "",
        pipeline: str | None = None,
    ) -> None:
        """Store one part of a kind whose document is not a :class:`RunRecord` (stress).

        Every string of ``document`` (keys included) is stored with the secrets qhub knows
        scrubbed (:func:`qhub._redact.scrub_known_in`): a shared history outlives the run.
        """

    def set_figures(self, run_id: str, figures: Figures, *, parts: int | None = None) -> bool:
        """Store the per-item figures of a run (after its parts were merged).

        With ``parts``, only while the run still has that many parts (a part that arrived
        meanwhile makes them stale; its writer stores fresh ones): ``False`` when skipped.
        """

    def runs(
        self, limit: int | None = None, *, pipeline: str | None = None, kind: str | None = BEHAVE
    ) -> list[RunSummary]:
        """Runs of ``kind`` (``None``: every kind), newest first."""

    def get_run(self, run_id: str) -> RunSummary | None:
        """One run of any kind (``None`` if unknown); a part id finds its run."""

    def parts(self, run_id: str) -> list[RunRecord]:
        """Every readable behave part of a run, oldest first; damaged ones are skipped (said
        once)."""

    def documents(self, run_id: str) -> list[StoredPart]:
        """Every readable part of a run (any kind) with its stored JSON document, oldest
        first; damaged ones are skipped (said once)."""

    def figures(self, run_ids: Sequence[str]) -> dict[str, Figures]:
        """Stored figures of the runs that have them."""

    def set_baseline(self, run_ids: Sequence[str], name: str = "default") -> PinnedBaseline:
        """Pin runs as the baseline ``name`` (kept by retention)."""

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        """The pinned baseline ``name``, or ``None``."""

    def clear_baseline(self, name: str = "default") -> bool:
        """Forget a pinned baseline; ``False`` when there was none."""

    def baselines(self) -> list[PinnedBaseline]:
        """Every pinned baseline (for export)."""

    def put_baseline(self, baseline: PinnedBaseline) -> PinnedBaseline:
        """Store ``baseline`` as it is, its creation time kept (for import)."""

    def pin_plan(self, key: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Store a shard plan under ``key`` unless one is there; returns the stored one.

        The first shard of a CI pipeline to plan pins its plan; the others get the same
        one even if the history changed in between (so no scenario is lost or doubled).
        """

    def join_run(self, run_id: str, worker: str) -> None:
        """Note that ``worker`` takes part in the coordinated run ``run_id``."""

    def leave_run(self, run_id: str, worker: str) -> bool:
        """``worker`` is done; ``True`` when it was the last one of the run."""

    def close(self) -> None:
        """Release the connection (idempotent)."""

    def __enter__(self) -> RunHistory: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
