"""Assembling a :class:`Report`: the run's record, its verdict, and its trend over history.

Shared by the end of a run and by ``qhub report`` / ``qhub check``. A report is frozen and
is all a renderer reads. The history is optional everywhere: when it cannot be used, the
report is still built (with "no baseline" and a note saying why), because reports are
written even when the history cannot be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qhub._record import frozen_record
from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.baseline import SampleSet, read_baseline, sample_set
from qhub.profiling.history import STRESS, RunHistory, RunSummary
from qhub.profiling.merge import merge_records
from qhub.profiling.record import RunRecord
from qhub.profiling.regression import RegressionCheck
from qhub.profiling.verdict import Verdict, judge

if TYPE_CHECKING:
    from qhub.config import QHubConfig

TREND_RUNS = 50
TREND_ITEMS = 12
"""Step definitions given a trend line of their own (the slowest of the current run)."""
STRESS_RUNS = 10
"""Stress runs listed in the HTML report's stress section."""


@frozen_record
class TrendPoint:
    """One earlier run in the trend (oldest first)."""

    run_id: str
    finished_at: str | None
    git_commit: str | None
    wall_ms: float
    step_ms: float
    status: str | None
    parts: int
    baseline: bool
    current: bool


@frozen_record
class ItemTrend:
    """One step definition's median per run over the trend (``None``: not run then)."""

    key: str
    name: str
    values: tuple[float | None, ...]


@frozen_record
class StressRuns:
    """The newest ``qhub stress`` runs in the history, for the HTML report's stress section."""

    recent: tuple[RunSummary, ...]
    """Newest first (at most :data:`STRESS_RUNS`)."""
    document: Mapping[str, Any] | None
    """The newest run's stored document as stored: untrusted, read by
    :func:`qhub.profiling.render.stress_view.read_stress`; None without a readable part."""


@frozen_record
class Report:
    """Everything the renderers show."""

    record: RunRecord
    verdict: Verdict
    trend: tuple[TrendPoint, ...] = ()
    item_trends: tuple[ItemTrend, ...] = ()
    notes: tuple[str, ...] = ()
    """Why something is missing (history unavailable, baseline file unreadable...)."""
    stress: StressRuns | None = None
    """Stress runs in the history (only when asked for: the HTML report shows them)."""


def load_run(history: RunHistory, run_id: str) -> RunRecord:
    """One run from history, its parts merged; :class:`ProfilerError` when unknown/unreadable."""
    summary = history.get_run(run_id)
    if summary is None:
        raise ProfilerError(f"no run {run_id!r} in {history.location}")
    parts = history.parts(summary.id)
    if not parts:
        raise ProfilerError(f"run {summary.id!r} in {history.location} has no readable record")
    return merge_records(parts)


def recent_runs(history: RunHistory, last: int) -> list[RunRecord]:
    """The newest ``last`` readable runs, oldest first."""
    out = []
    for summary in history.runs(last):
        parts = history.parts(summary.id)
        if parts:
            out.append(merge_records(parts))
    if not out:
        stress = len(history.runs(kind=STRESS))
        held = (
            f" (it holds {stress} stress run(s): `qhub stress` writes their reports and"
            " `qhub check --stress` compares them)"
            if stress
            else ""
        )
        raise ProfilerError(
            f"no behave runs recorded in {history.location} yet{held}: run behave with qhub"
        )
    return list(reversed(out))


def load_baseline(
    config: QHubConfig, history: RunHistory | None
) -> tuple[SampleSet | None, list[str]]:
    """The baseline file when configured and present, else the runs pinned in history."""
    notes: list[str] = []
    settings = config.profiling
    if settings.baseline_file:
        path = config.path(settings.baseline_file)
        if path.exists():
            try:
                return read_baseline(path), notes
            except ProfilerError as exc:
                note = f"baseline file ignored: {exc}"
                warn(note, once=f"baseline-file:{path}")
                notes.append(note)
    if history is None:
        return None, notes
    samples, more = pinned_baseline(history)
    return samples, [*notes, *more]


def pinned_baseline(history: RunHistory) -> tuple[SampleSet | None, list[str]]:
    """The runs pinned in history as the default baseline, as samples."""
    notes: list[str] = []
    pinned = history.baseline()
    if pinned is None:
        return None, notes
    runs = []
    for run_id in pinned.runs:
        try:
            runs.append(load_run(history, run_id))
        except ProfilerError as exc:
            notes.append(f"baseline run skipped: {exc}")
    if not runs:
        notes.append("the pinned baseline has no readable run")
        return None, notes
    return sample_set(runs, f"history:{pinned.name}", pinned.created_at), notes


def _trend(
    history: RunHistory, record: RunRecord, baseline: SampleSet | None
) -> tuple[tuple[TrendPoint, ...], tuple[ItemTrend, ...]]:
    pinned = {r.id for r in baseline.runs} if baseline is not None else set()
    current = set(record.run.pooled_runs or (record.run.id,))
    summaries = list(reversed(history.runs(TREND_RUNS)))
    points = tuple(
        TrendPoint(
            run_id=s.id, finished_at=s.finished_at, git_commit=s.git_commit,
            wall_ms=s.wall_ms or 0.0, step_ms=s.step_ms or 0.0, status=s.status,
            parts=s.parts, baseline=s.id in pinned, current=s.id in current,
        )
        for s in summaries
    )  # fmt: skip
    figures = history.figures([s.id for s in summaries])
    items = []
    for row in record.step_definitions[:TREND_ITEMS]:
        values = tuple(
            figures.get(s.id, {}).get("step_definition", {}).get(row.key, (None, 0))[0]
            for s in summaries
        )
        items.append(ItemTrend(row.key, row.pattern, values))
    return points, tuple(items)


def stress_runs(history: RunHistory) -> StressRuns | None:
    """The newest stress runs and the newest one's stored document; None when there are
    none. :class:`ProfilerError` when the history cannot be read."""
    recent = tuple(history.runs(STRESS_RUNS, kind=STRESS))
    if not recent:
        return None
    parts = history.documents(recent[0].id)
    return StressRuns(recent, parts[-1].document if parts else None)


def build_report(
    config: QHubConfig,
    history: RunHistory | None,
    runs: Sequence[RunRecord],
    *,
    check: RegressionCheck | None = None,
    notes: Sequence[str] = (),
    stress: bool = False,
) -> Report:
    """The report over ``runs`` (one record per run; several are pooled); with ``stress``,
    the stress runs in the history too (what the HTML report shows)."""
    record = runs[0] if len(runs) == 1 else merge_records(runs, pooled=True)
    baseline, more_notes = load_baseline(config, history)
    verdict = judge(runs, config.profiling, baseline, check)
    trend: tuple[TrendPoint, ...] = ()
    items: tuple[ItemTrend, ...] = ()
    stressed: StressRuns | None = None
    if history is not None:
        try:
            trend, items = _trend(history, record, baseline)
        except ProfilerError as exc:
            more_notes.append(f"no trend: {exc}")
        if stress:
            try:
                stressed = stress_runs(history)
            except ProfilerError as exc:
                more_notes.append(f"stress runs not shown: {exc}")
    return Report(record, verdict, trend, items, (*notes, *more_notes), stressed)
