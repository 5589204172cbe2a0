"""Judging a run against its baseline: every item compared or listed, leaks, budgets.

:func:`judge` pairs the current items with the baseline's (:mod:`qhub.profiling.identity`),
decides each pair with the rule in :mod:`qhub.profiling.regression`, and says honestly
what it could not compare (new, gone, too few samples), how many items that was, and
what makes baseline and current hard to compare (other host, Python, behave or qhub
version, a dirty working tree, a failed baseline run).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from qhub._record import frozen_record
from qhub.profiling.baseline import KINDS, Item, RunInfo, SampleSet, run_info, sample_set
from qhub.profiling.identity import SEP, match_items
from qhub.profiling.record import RunRecord, decode
from qhub.profiling.regression import RegressionCheck
from qhub.profiling.rss import detect_leak

if TYPE_CHECKING:
    from qhub.config import ProfilingSettings

SUGGESTED_BUDGETS = {"step_p95_ms": 100.0, "scenario_ms": 500.0, "rss_growth_mb": 10.0}
"""Starting points from the reference documents' targets (test < 100 ms / 500 ms, < 10 MB)."""

NOT_COMPARED = ("new", "gone", "too_few_samples")


@frozen_record
class Comparison:
    """One item's verdict: compared (and how), or why it could not be."""

    kind: str
    """``step_definition``, ``scenario`` or ``method``."""
    key: str
    name: str
    location: str
    verdict: str
    """``regression``, ``improvement``, ``unchanged``, or not compared: ``new``, ``gone``,
    ``too_few_samples``."""
    reason: str
    method: str | None = None
    matched_by: str | None = None
    """``key``, ``moved`` or ``renamed``: how the baseline item was found."""
    baseline_key: str | None = None
    baseline_location: str | None = None
    statistic: str | None = None
    baseline_ms: float | None = None
    current_ms: float | None = None
    change_percent: float | None = None
    delta_ms: float | None = None
    p_value: float | None = None
    bound_ms: float | None = None
    baseline_runs: int = 0
    baseline_samples: int = 0
    current_samples: int = 0

    @property
    def compared(self) -> bool:
        return self.verdict not in NOT_COMPARED


@frozen_record
class Counts:
    """How many items were compared, and how many could not be (and why)."""

    compared: int = 0
    regressions: int = 0
    improvements: int = 0
    unchanged: int = 0
    new: int = 0
    gone: int = 0
    too_few_samples: int = 0
    moved_or_renamed: int = 0
    by_method: Mapping[str, int] = field(default_factory=dict)

    @property
    def not_comparable(self) -> int:
        return self.new + self.gone + self.too_few_samples


@frozen_record
class BaselineInfo:
    """Where the baseline came from and which runs it holds."""

    source: str
    runs: tuple[str, ...]
    created_at: str


@frozen_record
class Growth:
    name: str
    growth_mb: float


@frozen_record
class Leak:
    """The RSS trend across one worker's scenarios (see :func:`qhub.profiling.rss.detect_leak`)."""

    leak: bool
    points: int
    threshold_mb: float
    slope_mb_per_item: float
    slope_ci95: tuple[float | None, float | None]
    projected_growth_mb: float
    first_to_last_mb: float
    top_growth: tuple[Growth, ...]
    worker: str | None = None


@frozen_record
class BudgetViolation:
    budget: str
    key: str
    name: str
    value: float
    limit: float
    unit: str
    location: str = ""


@frozen_record
class Budgets:
    configured: bool = False
    limits: Mapping[str, float | None] = field(default_factory=dict)
    suggested: Mapping[str, float] = field(default_factory=lambda: dict(SUGGESTED_BUDGETS))
    fail_on_budget: bool = False
    violations: tuple[BudgetViolation, ...] = ()


@frozen_record
class Verdict:
    """Everything the gate, the summary and the reports say about a run's performance."""

    baseline: BaselineInfo | None
    rule: str
    """The decision rule and its settings, in one line."""
    comparisons: tuple[Comparison, ...] = ()
    counts: Counts = field(default_factory=Counts)
    warnings: tuple[str, ...] = ()
    leaks: tuple[Leak, ...] = ()
    budgets: Budgets = field(default_factory=Budgets)

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        found = [c for c in self.comparisons if c.verdict == "regression"]
        return tuple(sorted(found, key=lambda c: -(c.change_percent or 1e9)))

    @property
    def improvements(self) -> tuple[Comparison, ...]:
        found = [c for c in self.comparisons if c.verdict == "improvement"]
        return tuple(sorted(found, key=lambda c: c.change_percent or 0.0))

    @property
    def not_compared(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.compared)

    @property
    def leak(self) -> bool:
        return any(leak.leak for leak in self.leaks)

    @property
    def state(self) -> str:
        """``no baseline``, ``regressed`` or ``ok`` (regressions only; see the CLI for more)."""
        if self.baseline is None:
            return "no baseline"
        return "regressed" if self.counts.regressions else "ok"


# -- settings ----------------------------------------------------------------------------------


def check_from_settings(
    settings: ProfilingSettings,
    threshold_percent: float | None = None,
    expressions: Sequence[str] | None = None,
    noise_floor_ms: float | None = None,
) -> RegressionCheck:
    """The decision rule from config, with command-line overrides."""
    if expressions:
        exprs = list(expressions)
    elif threshold_percent is not None:
        exprs = [f"median:{threshold_percent:g}%"]
    elif settings.compare:
        exprs = list(settings.compare)
    else:
        exprs = [f"median:{settings.regression_threshold_percent:g}%"]
    return RegressionCheck.from_expressions(
        exprs,
        noise_floor_ms=settings.noise_floor_ms if noise_floor_ms is None else noise_floor_ms,
        alpha=settings.alpha,
        single_run_percent=settings.single_run_percent,
    )


# -- comparing ---------------------------------------------------------------------------------


def _sig(*fields: str) -> Callable[[Item], Hashable | None]:
    def signature(item: Item) -> Hashable | None:
        values = tuple(getattr(item, f) for f in fields)
        return values if all(values) else None

    return signature


def _tail(item: Item) -> Hashable | None:
    """A scenario key without its file: finds a scenario moved to another feature file."""
    _, sep, rest = item.key.partition(SEP)
    return rest if sep and rest else None


FALLBACKS: dict[str, list[tuple[str, Callable[[Item], Hashable | None]]]] = {
    "step_definition": [
        ("moved", _sig("step_type", "pattern")),
        ("renamed", _sig("file", "function")),
        ("renamed", _sig("file", "pattern")),
    ],
    "scenario": [("moved", _tail), ("renamed", _sig("file", "signature"))],
    "method": [],
}


def compare_sets(
    current: SampleSet, baseline: SampleSet, check: RegressionCheck
) -> tuple[Comparison, ...]:
    """One :class:`Comparison` per item on either side."""
    out: list[Comparison] = []
    for kind in KINDS:
        cur_items = current.items.get(kind, {})
        base_items = baseline.items.get(kind, {})
        matching = match_items(cur_items, base_items, FALLBACKS[kind])
        for pair in matching.pairs:
            out.append(
                _compare(cur_items[pair.current], base_items[pair.baseline], pair.how, check)
            )
        for key in matching.new:
            item = cur_items[key]
            out.append(
                Comparison(kind, key, item.name, item.location, "new",
                           "not in the baseline", current_samples=item.samples)
            )  # fmt: skip
        for key in matching.gone:
            item = base_items[key]
            out.append(
                Comparison(kind, key, item.name, item.location, "gone",
                           "in the baseline, not run now", baseline_runs=len(item.runs),
                           baseline_samples=item.samples)
            )  # fmt: skip
    return tuple(out)


def _compare(cur: Item, base: Item, how: str, check: RegressionCheck) -> Comparison:
    common: dict[str, Any] = {
        "kind": cur.kind,
        "key": cur.key,
        "name": cur.name,
        "location": cur.location,
        "matched_by": how,
        "baseline_key": base.key,
        "baseline_location": base.location,
        "baseline_runs": sum(1 for r in base.runs if r),
        "baseline_samples": base.samples,
        "current_samples": cur.samples,
    }
    if not cur.samples or not base.samples:
        return Comparison(verdict="too_few_samples", reason="no samples on one side", **common)
    decision = check.decide(base.runs, cur.runs, parts=max(cur.parts, base.parts))
    moved = "" if how == "key" else f" ({how}: was {base.location or base.key})"
    return Comparison(
        verdict=decision.verdict,
        reason=decision.reason + moved,
        method=decision.method,
        statistic=decision.statistic,
        baseline_ms=decision.baseline_ms,
        current_ms=decision.current_ms,
        change_percent=decision.change_percent,
        delta_ms=decision.delta_ms,
        p_value=decision.p_value,
        bound_ms=decision.bound_ms,
        **common,
    )


def count(comparisons: Sequence[Comparison]) -> Counts:
    by_verdict: dict[str, int] = {}
    by_method: dict[str, int] = {}
    for c in comparisons:
        by_verdict[c.verdict] = by_verdict.get(c.verdict, 0) + 1
        if c.method:
            by_method[c.method] = by_method.get(c.method, 0) + 1
    return Counts(
        compared=sum(1 for c in comparisons if c.compared),
        regressions=by_verdict.get("regression", 0),
        improvements=by_verdict.get("improvement", 0),
        unchanged=by_verdict.get("unchanged", 0),
        new=by_verdict.get("new", 0),
        gone=by_verdict.get("gone", 0),
        too_few_samples=by_verdict.get("too_few_samples", 0),
        moved_or_renamed=sum(1 for c in comparisons if c.matched_by in ("moved", "renamed")),
        by_method=by_method,
    )


# -- warnings ----------------------------------------------------------------------------------

_FACTS = (("host", "host"), ("python", "Python"), ("behave_version", "behave"),
          ("qhub_version", "qhub"))  # fmt: skip


def environment_warnings(current: Sequence[RunInfo], baseline: Sequence[RunInfo]) -> list[str]:
    """What makes the two sides hard to compare, one sentence each."""
    out = []
    for attr, label in _FACTS:
        now = sorted({str(getattr(r, attr)) for r in current if getattr(r, attr)})
        then = sorted({str(getattr(r, attr)) for r in baseline if getattr(r, attr)})
        if now and then and now != then:
            out.append(
                f"{label} differs: baseline {', '.join(then)}, this run {', '.join(now)};"
                " timings may not be comparable"
            )
    if any(r.git_dirty for r in current):
        commit = next((r.git_commit for r in current if r.git_commit), None)
        out.append(
            "this run had uncommitted changes"
            + (f" (commit {commit[:10]} is not exactly what ran)" if commit else "")
        )
    if any(r.git_dirty for r in baseline):
        out.append("the baseline was recorded with uncommitted changes")
    bad = [r.id for r in baseline if r.status and r.status != "passed"]
    if bad:
        out.append(f"the baseline holds {len(bad)} run(s) that did not pass: {', '.join(bad[:3])}")
    return out


# -- leaks and budgets -------------------------------------------------------------------------


def leaks_of(record: RunRecord, threshold_mb: float) -> list[Leak]:
    """The RSS trend across the scenarios of each worker (one process each)."""
    if not record.memory.enabled or not record.scenarios:
        return []
    by_worker: dict[str | None, list[Any]] = {}
    for s in record.scenarios:
        by_worker.setdefault(s.worker, []).append(s)
    out = []
    for worker, scenarios in by_worker.items():
        found = detect_leak(
            [s.rss_end_mb for s in scenarios],
            [s.name or s.key for s in scenarios],
            threshold_mb,
            start_mb=scenarios[0].rss_start_mb,
        )
        found["worker"] = worker
        out.append(decode(Leak, found))
    return out


def budget_limits(settings: ProfilingSettings) -> dict[str, float | None]:
    return {
        "step_p95_ms": settings.budget_step_p95_ms,
        "scenario_ms": settings.budget_scenario_ms,
        "rss_growth_mb": settings.budget_rss_growth_mb,
    }


def budget_violations(
    records: Sequence[RunRecord], limits: Mapping[str, float | None]
) -> list[BudgetViolation]:
    """Every step definition, scenario or scenario RSS growth over its configured budget."""
    out: list[BudgetViolation] = []
    step_limit = limits.get("step_p95_ms")
    scenario_limit = limits.get("scenario_ms")
    rss_limit = limits.get("rss_growth_mb")
    for record in records:
        if step_limit is not None:
            out.extend(
                BudgetViolation("step_p95_ms", r.key, r.pattern, r.p95_ms, step_limit, "ms",
                                r.location)
                for r in record.step_definitions
                if r.p95_ms > step_limit
            )  # fmt: skip
        for s in record.scenarios:
            if scenario_limit is not None and s.duration_ms > scenario_limit:
                out.append(BudgetViolation("scenario_ms", s.key, s.name, s.duration_ms,
                                           scenario_limit, "ms", s.location))  # fmt: skip
            if rss_limit is not None and s.rss_delta_mb > rss_limit:
                out.append(BudgetViolation("rss_growth_mb", s.key, s.name, s.rss_delta_mb,
                                           rss_limit, "MB", s.location))  # fmt: skip
    return sorted(out, key=lambda v: -(v.value / v.limit if v.limit else v.value))


# -- the verdict -------------------------------------------------------------------------------


def judge(
    current: Sequence[RunRecord],
    settings: ProfilingSettings,
    baseline: SampleSet | None,
    check: RegressionCheck | None = None,
) -> Verdict:
    """The verdict over ``current`` (one record per run, workers merged)."""
    check = check or check_from_settings(settings)
    leaks = [leak for record in current for leak in leaks_of(record, settings.leak_threshold_mb)]
    limits = budget_limits(settings)
    budgets = Budgets(
        configured=any(v is not None for v in limits.values()),
        limits=limits,
        fail_on_budget=settings.fail_on_budget,
        violations=tuple(budget_violations(current, limits)),
    )
    if baseline is None or baseline.is_empty():
        return Verdict(baseline=None, rule=check.describe(), leaks=tuple(leaks), budgets=budgets)
    comparisons = compare_sets(sample_set(current, "current"), baseline, check)
    ordered = sorted(comparisons, key=_order)
    return Verdict(
        baseline=BaselineInfo(
            source=baseline.source,
            runs=tuple(r.id for r in baseline.runs),
            created_at=baseline.created_at,
        ),
        rule=check.describe(),
        comparisons=tuple(ordered),
        counts=count(ordered),
        warnings=tuple(environment_warnings([run_info(r) for r in current], baseline.runs)),
        leaks=tuple(leaks),
        budgets=budgets,
    )


_RANK = {"regression": 0, "improvement": 1, "new": 2, "gone": 3, "too_few_samples": 4}


def _order(c: Comparison) -> tuple[int, float, str]:
    return (_RANK.get(c.verdict, 5), -abs(c.change_percent or 0.0), c.key)
