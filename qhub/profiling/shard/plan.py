"""A shard plan: the suite's scenarios split into N shards balanced by recorded time.

*Units* are what is placed: one scenario (``by="scenario"``) or one feature file
(``by="feature"``; also any feature that must stay whole, see
:mod:`qhub.profiling.shard.suite`). A unit's weight is its recorded time; a unit without
history weighs the median of those with history; with no history at all every scenario
weighs the same (the split is then by count, in stable-hash order). Units are placed by
:func:`qhub.profiling.shard.balance.partition`.

The predicted time of a shard is the sum of its scenarios' times plus, once per feature
it touches, that feature's recorded overhead (its hooks): the price of splitting a
feature, which the balancing spreads over the feature's scenarios.

What a shard prints is exact: a feature file whose selected scenarios all landed in this
shard and which has no other scenario is given whole; otherwise each of its scenarios as
``file:line``, grouped by file in suite order (behave runs a file given twice twice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from qhub._record import frozen_record
from qhub.profiling.shard.balance import lower_bound, partition
from qhub.profiling.shard.estimate import Durations
from qhub.profiling.shard.suite import FeatureFile, Scenario, Suite

BY = ("scenario", "feature")
PLAN_VERSION = 1


@frozen_record
class Unit:
    key: str
    feature: FeatureFile
    scenarios: tuple[Scenario, ...]
    weight: float
    known: bool


@frozen_record(slots=False)
class ShardPlan:
    """Every shard's behave arguments and predicted time (ms; counts when not ``timed``)."""

    total: int
    by: str
    shards: tuple[tuple[str, ...], ...]
    predicted: tuple[float, ...]
    scenarios: tuple[int, ...]
    units: int
    estimated: int
    """Units without recorded time (weighted with the median)."""
    median_ms: float | None
    history_runs: int
    timed: bool
    """False without any history: ``predicted`` counts scenarios."""
    lower_bound: float
    digest: str
    """What the plan was made from (suite and options), to tell pinned plans apart."""
    pinned_for: str | None = field(default=None, compare=False)

    def args(self, index: int) -> list[str]:
        """The behave arguments of shard ``index`` (from 1)."""
        return list(self.shards[index - 1])

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_VERSION, "total": self.total, "by": self.by,
            "shards": [list(s) for s in self.shards], "predicted": list(self.predicted),
            "scenarios": list(self.scenarios), "units": self.units,
            "estimated": self.estimated, "median_ms": self.median_ms,
            "history_runs": self.history_runs, "timed": self.timed,
            "lower_bound": self.lower_bound, "digest": self.digest,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], pinned_for: str | None = None) -> ShardPlan:
        """A plan read back from history; :class:`ValueError` when it is not one."""
        try:
            if data["version"] != PLAN_VERSION:
                raise ValueError("another plan version")
            shards = tuple(tuple(str(a) for a in s) for s in data["shards"])
            plan = cls(
                total=int(data["total"]), by=str(data["by"]), shards=shards,
                predicted=tuple(float(p) for p in data["predicted"]),
                scenarios=tuple(int(n) for n in data["scenarios"]), units=int(data["units"]),
                estimated=int(data["estimated"]),
                median_ms=None if data["median_ms"] is None else float(data["median_ms"]),
                history_runs=int(data["history_runs"]), timed=bool(data["timed"]),
                lower_bound=float(data["lower_bound"]), digest=str(data["digest"]),
                pinned_for=pinned_for,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a shard plan: {exc}") from None
        if len(plan.shards) != plan.total or len(plan.predicted) != plan.total:
            raise ValueError("not a shard plan: wrong number of shards")
        return plan


def digest(suite: Suite, total: int, by: str) -> str:
    """A hash of what a plan depends on besides history: the selection and the options."""
    h = hashlib.sha256(f"{PLAN_VERSION}|{total}|{by}".encode())
    for feature in suite.features:
        h.update(f"\n{feature.file}|{int(feature.complete)}|{int(feature.keep_whole)}".encode())
        for s in feature.scenarios:
            h.update(f"|{s.line}:{s.key}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def units_of(suite: Suite, by: str, durations: Durations) -> tuple[list[Unit], float | None]:
    """The units to place and the median used for those without history."""
    keys = [s.key for f in suite.features for s in f.scenarios]
    median = durations.median(keys)
    out = []
    for feature in suite.features:
        overhead = durations.overheads.get(feature.file, 0.0) if median is not None else 0.0

        def time_of(s: Scenario) -> tuple[float, bool]:
            if median is None:
                return 1.0, False
            ms = durations.scenarios.get(s.key)
            return (ms, True) if ms is not None else (median, False)

        if by == "feature" or feature.keep_whole:
            times = [time_of(s) for s in feature.scenarios]
            out.append(
                Unit(feature.file, feature, feature.scenarios,
                     sum(t for t, _ in times) + overhead, all(k for _, k in times))
            )  # fmt: skip
            continue
        share = overhead / len(feature.scenarios)
        for s in feature.scenarios:
            ms, known = time_of(s)
            out.append(Unit(s.key, feature, (s,), ms + share, known))
    return out, median


def make_plan(suite: Suite, total: int, by: str, durations: Durations) -> ShardPlan:
    """Split ``suite`` into ``total`` shards (see the module docstring)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    units, median = units_of(suite, by, durations)
    timed = median is not None
    placed = partition([u.key for u in units], [u.weight for u in units], total)
    shards, predicted, counts = [], [], []
    for members in placed:
        chosen = [units[i] for i in members]
        shards.append(tuple(_arguments(suite, chosen)))
        counts.append(sum(len(u.scenarios) for u in chosen))
        predicted.append(round(_predict(chosen, durations, median), 3))
    return ShardPlan(
        total=total, by=by, shards=tuple(shards), predicted=tuple(predicted),
        scenarios=tuple(counts), units=len(units),
        estimated=sum(1 for u in units if not u.known), median_ms=median,
        history_runs=durations.runs, timed=timed,
        lower_bound=round(lower_bound([u.weight for u in units], total), 3),
        digest=digest(suite, total, by),
    )  # fmt: skip


def _predict(units: list[Unit], durations: Durations, median: float | None) -> float:
    """Scenario times plus each touched feature's overhead once (counts when untimed)."""
    if median is None:
        return float(sum(len(u.scenarios) for u in units))
    total = 0.0
    for u in units:
        total += sum(durations.scenarios.get(s.key, median) for s in u.scenarios)
    touched = {u.feature.file for u in units}
    return total + sum(durations.overheads.get(f, 0.0) for f in touched)


def _arguments(suite: Suite, units: list[Unit]) -> list[str]:
    """behave arguments selecting exactly these units' scenarios (module docstring)."""
    chosen = {(s.file, s.line) for u in units for s in u.scenarios}
    out: list[str] = []
    for feature in suite.features:
        mine = [s for s in feature.scenarios if (s.file, s.line) in chosen]
        if not mine:
            continue
        if feature.complete and len(mine) == len(feature.scenarios):
            out.append(feature.file)
        else:
            out.extend(f"{feature.file}:{s.line}" for s in sorted(mine, key=lambda s: s.line))
    return out
