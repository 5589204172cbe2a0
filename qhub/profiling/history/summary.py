"""A run's summary from its parts: the one definition every backend and the merge use.

A run is made of parts; parts that ran one after another (a behavex worker's features, or
the parts of one CI shard) share a *lane*. A lane's wall time spans its first part's start
to its last part's end on one time line (when the starts are known; else its longest
part). The run's wall time is its slowest lane: CI shards run side by side on different
machines, so their times never add up (their *work* does: step time is summed).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from qhub._record import frozen_record
from qhub.profiling.record import worst_status


@frozen_record
class PartFigures:
    """What the summary needs of one stored part."""

    status: str | None
    wall_ms: float | None
    step_ms: float | None
    finished_at: str | None
    lane: str | None = None
    start_ms: float | None = None


@frozen_record
class Summary:
    status: str
    wall_ms: float
    step_ms: float
    finished_at: str
    parts: int


def wall_ms(parts: Iterable[tuple[Hashable, float | None, float]]) -> float:
    """Wall time of parts given as ``(lane, start epoch ms or None, wall ms)``."""
    lanes: dict[Hashable, list[tuple[float | None, float]]] = {}
    for lane, start, wall in parts:
        lanes.setdefault(lane, []).append((start, wall))
    longest = 0.0
    for members in lanes.values():
        if any(start is None for start, _ in members):
            span = max(wall for _, wall in members)
        else:
            ends = [(start or 0.0) + wall for start, wall in members]
            span = max(ends) - min(start or 0.0 for start, _ in members)
        longest = max(longest, span)
    return longest


def summarize(parts: Iterable[PartFigures]) -> Summary:
    """The run's status (worst part), wall time (slowest lane), summed step time, last end."""
    rows = list(parts)
    return Summary(
        status=worst_status(p.status or "passed" for p in rows),
        wall_ms=round(wall_ms((p.lane, p.start_ms, p.wall_ms or 0.0) for p in rows), 3),
        step_ms=round(sum(p.step_ms or 0.0 for p in rows), 3),
        finished_at=max((p.finished_at or "" for p in rows), default=""),
        parts=len(rows),
    )


def doomed_runs(
    runs: Iterable[tuple[str, str, int]], retention: int, pinned: set[str]
) -> list[str]:
    """Run ids retention removes: beyond the newest ``retention`` of each kind, not pinned.

    ``runs`` are ``(id, kind, seq)``. Each kind keeps its own ``retention`` newest runs, so
    a stream of normal runs never pushes out the last stress runs.
    """
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for run_id, kind, seq in runs:
        by_kind.setdefault(kind, []).append((seq, run_id))
    doomed: list[str] = []
    for members in by_kind.values():
        members.sort(reverse=True)
        doomed.extend(rid for _, rid in members[retention:] if rid not in pinned)
    return doomed
