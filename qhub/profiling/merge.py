"""Merging records: the parts of one run (workers), or several runs pooled (``--last N``).

Parts of one run: each scenario and feature counts once, as behave would count it in one
process (behavex workers each see whole feature files but run only their share; a
scenario skipped in one part and run in another counts as run). Several runs pooled: the
runs add up, and the record says it is pooled. Step figures are recomputed from the
pooled samples; the attribution is summed *worker time* (labelled so), while the run's
wall time is the longest part's (several runs: their sum).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from qhub._figures import percent, percentile_sorted
from qhub.profiling.build import thin
from qhub.profiling.record import (
    Attribution,
    HookRow,
    Memory,
    MethodRow,
    Part,
    RunRecord,
    ScenarioOutcome,
    StepDefinitionRow,
    TextFigures,
    Totals,
    worst_status,
)

R = TypeVar("R")
_SKIPPED = ("skipped", "untested", "unknown")


def _worker(record: RunRecord, index: int) -> str:
    run = record.run
    return str(run.worker_id or run.part or index)


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for name, n in more.items():
        into[name] = into.get(name, 0) + n


def _group(rows: Iterable[R], key: Callable[[R], str]) -> dict[str, list[R]]:
    out: dict[str, list[R]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def _timing(rows: Sequence[StepDefinitionRow] | Sequence[MethodRow]) -> dict[str, Any]:
    """The timing figures shared by step-definition and method rows, over several rows."""
    samples = [s for r in rows for s in r.samples_ms]
    ordered = sorted(samples)
    count = sum(r.count for r in rows)
    total = round(sum(r.total_ms for r in rows), 3)
    return {
        "count": count,
        "total_ms": total,
        "mean_ms": round(total / count, 3) if count else 0.0,
        "min_ms": min(r.min_ms for r in rows),
        "p50_ms": round(percentile_sorted(ordered, 50), 3),
        "p95_ms": round(percentile_sorted(ordered, 95), 3),
        "max_ms": max(r.max_ms for r in rows),
        "samples_ms": tuple(thin(samples)),
    }


def _merge_texts(groups: Iterable[Iterable[TextFigures]]) -> tuple[TextFigures, ...]:
    by_text: dict[str, list[TextFigures]] = _group((t for g in groups for t in g), lambda t: t.text)
    out = []
    for text, rows in by_text.items():
        count = sum(t.count for t in rows)
        total = round(sum(t.total_ms for t in rows), 3)
        out.append(
            TextFigures(text, count, total, round(total / count, 3) if count else 0.0,
                        max(t.max_ms for t in rows))
        )  # fmt: skip
    return tuple(sorted(out, key=lambda t: -t.total_ms))


def merge_step_rows(groups: Sequence[Sequence[StepDefinitionRow]]) -> list[StepDefinitionRow]:
    """One row per step-definition key over several parts or runs."""
    out = []
    for rows in _group((r for g in groups for r in g), lambda r: r.key).values():
        first = rows[0]
        if len(rows) == 1:
            out.append(first)
            continue
        statuses: dict[str, int] = {}
        for r in rows:
            _add(statuses, r.statuses)
        out.append(
            StepDefinitionRow(
                key=first.key, location=first.location, file=first.file, line=first.line,
                step_type=first.step_type, pattern=first.pattern, function=first.function,
                nested_calls=sum(r.nested_calls for r in rows), statuses=statuses,
                rss_delta_mb=round(sum(r.rss_delta_mb for r in rows), 3),
                tracemalloc_peak_kb=max(r.tracemalloc_peak_kb for r in rows),
                texts=_merge_texts(r.texts for r in rows), **_timing(rows),
            )
        )  # fmt: skip
    return sorted(out, key=lambda r: -r.total_ms)


def _merge_methods(groups: Sequence[Sequence[MethodRow]]) -> list[MethodRow]:
    out = []
    for rows in _group((m for g in groups for m in g), lambda m: m.method).values():
        if len(rows) == 1:
            out.append(rows[0])
            continue
        deltas = [r.rss_delta_mb for r in rows if r.rss_delta_mb is not None]
        out.append(
            MethodRow(
                method=rows[0].method,
                errors=sum(r.errors for r in rows),
                rss_delta_mb=round(sum(deltas), 3) if deltas else None,
                **_timing(rows),
            )
        )
    return sorted(out, key=lambda m: -m.total_ms)


def _merge_hooks(groups: Sequence[Sequence[HookRow]]) -> list[HookRow]:
    out = []
    for hook, rows in _group((h for g in groups for h in g), lambda h: h.hook).items():
        count = sum(h.count for h in rows)
        total = round(sum(h.total_ms for h in rows), 3)
        out.append(
            HookRow(hook, count, total, round(total / count, 3) if count else 0.0,
                    max(h.max_ms for h in rows), sum(h.failed for h in rows))
        )  # fmt: skip
    return sorted(out, key=lambda h: -h.total_ms)


def _attribution(records: Sequence[RunRecord], label: str) -> Attribution:
    sums: dict[str, float] = {}
    labels: dict[str, str] = {}
    for record in records:
        for p in record.attribution.parts:
            sums[p.name] = sums.get(p.name, 0.0) + p.ms
            labels.setdefault(p.name, p.label)
    total = sum(sums.values())
    parts = tuple(
        Part(name, labels[name], round(ms, 3), percent(ms, total))
        for name, ms in sums.items()
    )
    return Attribution(
        wall_ms=round(total, 3), parts_total_ms=round(total, 3), measured_from=label,
        process_start_source=records[0].attribution.process_start_source, parts=parts,
    )  # fmt: skip


def _pick_status(statuses: Iterable[str]) -> str:
    """A scenario's status over parts: a run status wins over skipped/untested."""
    seen = list(statuses)
    ran = [s for s in seen if s not in _SKIPPED]
    return ran[0] if ran else (seen[0] if seen else "unknown")


def _merge_totals(records: Sequence[RunRecord], n_definitions: int, one_run: bool) -> Totals:
    features: dict[str, int] = {}
    scenarios: dict[str, int] = {}
    steps: dict[str, int] = {}
    with_outcomes = one_run and all(r.totals.outcomes for r in records)
    if with_outcomes:
        by_key = _group((o for r in records for o in r.totals.outcomes), lambda o: o.key)
        outcomes = []
        for key, found in by_key.items():
            status = _pick_status(o.status for o in found)
            chosen = next(o for o in found if o.status == status)
            outcomes.append(ScenarioOutcome(key, status, chosen.steps))
            scenarios[status] = scenarios.get(status, 0) + 1
            _add(steps, chosen.steps)
        files = _group(
            ((f, s) for r in records for f, s in r.totals.feature_outcomes.items()),
            lambda item: item[0],
        )
        feature_status = {f: _pick_status(s for _, s in rows) for f, rows in files.items()}
        for status in feature_status.values():
            features[status] = features.get(status, 0) + 1
        kept: tuple[ScenarioOutcome, ...] = tuple(outcomes)
    else:
        for r in records:
            _add(features, r.totals.features_by_status)
            _add(scenarios, r.totals.scenarios_by_status)
            _add(steps, r.totals.steps_by_status)
        kept, feature_status = (), {}
    return Totals(
        features=sum(features.values()), features_by_status=features,
        rules=sum(r.totals.rules for r in records),
        scenarios=sum(scenarios.values()), scenarios_by_status=scenarios,
        steps=sum(steps.values()), steps_by_status=steps,
        sub_steps=sum(r.totals.sub_steps for r in records),
        step_definitions=n_definitions,
        source=records[0].totals.source if with_outcomes or len(records) == 1 else "summed",
        outcomes=kept, feature_outcomes=feature_status,
    )  # fmt: skip


def merge_records(records: Sequence[RunRecord], *, pooled: bool = False) -> RunRecord:
    """One record for the parts of one run (``pooled=False``) or for several runs."""
    if not records:
        raise ValueError("nothing to merge")
    if len(records) == 1 and not pooled:
        return records[0]
    first = records[0]
    workers = [_worker(r, i) for i, r in enumerate(records)]
    steps = merge_step_rows([r.step_definitions for r in records])
    run_ids = list(dict.fromkeys(r.run.id for r in records))
    status = worst_status(r.run.status for r in records)
    wall = sum(r.run.wall_ms for r in records) if pooled else _span_ms(records)
    label = (
        f"process start, summed over {len(run_ids)} runs (pooled)"
        if pooled
        else f"process start, summed over {len(records)} workers (worker time)"
    )
    run = dataclasses.replace(
        first.run,
        id=run_ids[0] if len(run_ids) == 1 else f"pooled-{len(run_ids)}-runs",
        status=status,
        wall_ms=round(wall, 3),
        workers=len(set(workers)),
        worker_ids=tuple(dict.fromkeys(workers)),
        start_epoch_ms=min(
            (r.run.start_epoch_ms for r in records if r.run.start_epoch_ms is not None),
            default=None,
        ),
        parts=tuple(p for r in records for p in (r.run.parts or (r.run.part,))),
        pooled_runs=tuple(run_ids) if pooled else (),
        finished_at=max(r.run.finished_at for r in records),
        git_dirty=_any_dirty(r.run.git_dirty for r in records),
    )
    return RunRecord(
        run=run,
        totals=_merge_totals(records, len(steps), one_run=not pooled),
        attribution=_attribution(records, label),
        step_definitions=tuple(steps),
        scenarios=tuple(
            s if s.worker else dataclasses.replace(s, worker=w)
            for r, w in zip(records, workers, strict=True)
            for s in r.scenarios
        ),
        features=tuple(f for r in records for f in r.features),
        hooks=tuple(_merge_hooks([r.hooks for r in records])),
        step_modules=first.step_modules,
        methods=tuple(_merge_methods([r.methods for r in records])),
        memory=Memory(
            enabled=any(r.memory.enabled for r in records),
            peak_mb=max(r.memory.peak_mb for r in records),
            series_by_worker=_series(records, workers),
        ),
        stats=_stats(records, workers),
        schema=first.schema,
    )


def _span_ms(records: Sequence[RunRecord]) -> float:
    """Wall time of one run's parts: first start to last end on one time line (when known)."""
    starts = [r.run.start_epoch_ms for r in records]
    if any(s is None for s in starts):
        return max(r.run.wall_ms for r in records)
    ends = [(s or 0.0) + r.run.wall_ms for s, r in zip(starts, records, strict=True)]
    return max(ends) - min(s or 0.0 for s in starts)


def _any_dirty(values: Iterable[bool | None]) -> bool | None:
    seen = list(values)
    if any(seen):
        return True
    return None if any(v is None for v in seen) else False


def _series(
    records: Sequence[RunRecord], workers: Sequence[str]
) -> dict[str, tuple[tuple[float, float], ...]]:
    out: dict[str, tuple[tuple[float, float], ...]] = {}
    for record, worker in zip(records, workers, strict=True):
        if record.memory.series_by_worker:
            out.update(record.memory.series_by_worker)
        elif record.memory.series:
            out[_label(record, worker)] = record.memory.series
    return out


def _label(record: RunRecord, worker: str) -> str:
    """Worker name, with the part id when one worker process ran several parts."""
    part = record.run.part
    return worker if part in (worker, "") else f"{worker} ({part})"


def _stats(records: Sequence[RunRecord], workers: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for record, worker in zip(records, workers, strict=True):
        if record.run.merged:
            out.update(record.stats)
        else:
            out[_label(record, worker)] = dict(record.stats)
    return out
