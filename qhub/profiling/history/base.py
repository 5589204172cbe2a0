"""The history interface (:class:`RunHistory`) and the values it hands out.

Backends implement :class:`RunHistory`; see :mod:`qhub.profiling.history` for the one
way to open the configured one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from qhub.exceptions import ProfilerError
from qhub.profiling.record import RunRecord


class HistoryUnavailableError(ProfilerError):
    """The history cannot be used right now (locked, read-only, full disk, foreign file...).

    Not corruption: nothing is moved aside; the run goes on without recording.
    """


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as listed by the history (no documents loaded)."""

    id: str
    seq: int
    parts: int
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


@dataclass(frozen=True, slots=True)
class PinnedBaseline:
    """Runs pinned as a named baseline."""

    name: str
    created_at: str
    runs: tuple[str, ...]


Figures = Mapping[str, Mapping[str, tuple[float, int]]]
"""kind -> item key -> (median ms, sample count): what trends are drawn from."""


class RunHistory(Protocol):
    """What every history backend provides."""

    location: str
    """Where it lives, for messages (a path, or a URL with its password redacted)."""
    readonly: bool

    def add_part(self, record: RunRecord) -> None:
        """Store one part; creates its run or updates the run's summary; applies retention."""

    def set_figures(self, run_id: str, figures: Figures) -> None:
        """Store the per-item figures of a run (after its parts were merged)."""

    def runs(self, limit: int | None = None, *, pipeline: str | None = None) -> list[RunSummary]:
        """Runs, newest first."""

    def get_run(self, run_id: str) -> RunSummary | None:
        """One run (``None`` if unknown); a part id finds the run it belongs to."""

    def parts(self, run_id: str) -> list[RunRecord]:
        """Every readable part of a run, oldest first; damaged ones are skipped (said once)."""

    def figures(self, run_ids: Sequence[str]) -> dict[str, Figures]:
        """Stored figures of the runs that have them."""

    def set_baseline(self, run_ids: Sequence[str], name: str = "default") -> PinnedBaseline:
        """Pin runs as the baseline ``name`` (kept by retention)."""

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        """The pinned baseline ``name``, or ``None``."""

    def clear_baseline(self, name: str = "default") -> bool:
        """Forget a pinned baseline; ``False`` when there was none."""

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
