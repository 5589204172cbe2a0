"""A stress run, frozen: one record with named fields that every renderer reads.

Built once from the measurements after the load (:func:`freeze`); renderers and the budget
check read it and write nothing back. ``as_dict()`` is the JSON report's layout (``kind``
``"stress"``, ``schema`` 1); the histograms travel with it, encoded, so a later run can be
compared with this one from all samples, not from a few percentiles.
"""

from __future__ import annotations

from dataclasses import asdict, field
from typing import Any

from qhub._record import frozen_record
from qhub._redact import redact_text
from qhub.stress.histogram import LatencyHistogram
from qhub.stress.measure import Measurements, Series, TimelinePoint
from qhub.stress.plan import StressPlan

SCHEMA = 1
_CPU_BOUND_PERCENT = 85.0


@frozen_record(slots=False)
class Row:
    """One endpoint, step definition, scenario, or all requests together."""

    key: str
    label: str
    count: int
    rate_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    mean_ms: float
    errors: int
    errors_by_kind: dict[str, int]
    first_errors: dict[str, str]
    outcomes: dict[str, int]
    service: dict[str, float] | None = None
    """Rate mode: percentiles of the service time alone (without the schedule lag)."""

    @property
    def error_percent(self) -> float:
        return 100.0 * self.errors / self.count if self.count else 0.0


@frozen_record(slots=False)
class BudgetCheck:
    """One budget against what the run measured."""

    name: str
    limit: float
    actual: float | None
    unit: str
    passed: bool
    note: str = ""


@frozen_record(slots=False)
class StressResult:
    """Everything one stress run measured (see the module docstring)."""

    run_id: str
    started_at: str
    behave_version: str
    behave_args: list[str]
    plan: StressPlan
    elapsed_s: float
    stop_reason: str
    signal: str | None
    abandoned: bool
    corrected: bool
    """True with a target rate: latencies include each iteration's schedule lag."""
    requests: Row
    endpoints: list[Row]
    steps: list[Row]
    scenarios: list[Row]
    iterations: dict[str, Any]
    timeline: list[TimelinePoint]
    client: dict[str, Any]
    pools: dict[str, Any]
    histograms: dict[str, str]
    """Encoded HDR histograms: ``"all"`` and one per endpoint key."""
    budgets: list[BudgetCheck] = field(default_factory=list)
    comparison: dict[str, Any] | None = None
    """Against the previous stress run (:func:`qhub.stress.compare.compare_runs`)."""

    @property
    def interrupted(self) -> bool:
        return self.signal is not None or self.abandoned

    @property
    def budgets_failed(self) -> list[BudgetCheck]:
        return [b for b in self.budgets if not b.passed]

    @property
    def scenarios_failed(self) -> int:
        return sum(r.errors for r in self.scenarios)

    @property
    def scenarios_run(self) -> int:
        return sum(r.count for r in self.scenarios)

    def histogram(self, key: str) -> LatencyHistogram | None:
        text = self.histograms.get(key)
        return LatencyHistogram.decode(text) if text else None

    def with_budgets(self, checks: list[BudgetCheck]) -> StressResult:
        from dataclasses import replace

        return replace(self, budgets=list(checks))

    def with_comparison(self, comparison: dict[str, Any] | None) -> StressResult:
        from dataclasses import replace

        return replace(self, comparison=comparison)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = "stress"
        out["schema"] = SCHEMA
        out["interrupted"] = self.interrupted
        return out


def row_of(key: str, series: Series, elapsed_s: float) -> Row:
    summary = series.latency.summary()
    count = int(summary["count"])
    service = None
    if series.service is not None:
        s = series.service.summary()
        service = {k: s[k] for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")}
    return Row(
        key=redact_text(key),
        label=redact_text(series.label or key),
        count=count,
        rate_per_s=round(count / elapsed_s, 3) if elapsed_s > 0 else 0.0,
        p50_ms=summary["p50_ms"],
        p90_ms=summary["p90_ms"],
        p95_ms=summary["p95_ms"],
        p99_ms=summary["p99_ms"],
        max_ms=summary["max_ms"],
        min_ms=summary["min_ms"],
        mean_ms=summary["mean_ms"],
        errors=sum(series.errors.values()),
        errors_by_kind=dict(series.errors.most_common()),
        first_errors={k: redact_text(v) for k, v in series.first_errors.items()},
        outcomes=dict(sorted(series.outcomes.items())),
        service=service,
    )


def freeze(
    m: Measurements,
    *,
    run_id: str,
    started_at: str,
    behave_version: str,
    behave_args: list[str],
    plan: StressPlan,
    outcome: Any,
    pools: dict[str, Any],
) -> StressResult:
    """The frozen record of a finished (or stopped) load phase."""
    elapsed = float(outcome.elapsed_s)
    tables = m.tables()

    def rows(table: dict[str, Series]) -> list[Row]:
        out = [row_of(k, s, elapsed) for k, s in table.items()]
        out.sort(key=lambda r: (-r.count, r.key))
        return out

    histograms = {"all": m.all_requests.latency.encode()}
    for key, series in tables["endpoints"].items():
        histograms[redact_text(key)] = series.latency.encode()
    iteration_row = row_of("iterations", m.iterations, elapsed)
    iterations = {
        "completed": iteration_row.count,
        "started": m.iterations_started,
        "interrupted": m.iterations_interrupted,
        "per_s": iteration_row.rate_per_s,
        "p50_ms": iteration_row.p50_ms,
        "p95_ms": iteration_row.p95_ms,
        "max_ms": iteration_row.max_ms,
        "due": outcome.iterations_due,
        "not_started": max(0, outcome.iterations_due - outcome.iterations_handed_out)
        if plan.rate
        else 0,
        "lag_p50_ms": round(m.lag.percentile(50), 3) if plan.rate else None,
        "lag_p99_ms": round(m.lag.percentile(99), 3) if plan.rate else None,
        "lag_max_ms": round(m.lag.max(), 3) if plan.rate else None,
    }
    cpu = round(float(outcome.cpu_percent), 1)
    client = {
        "model": "threads",
        "users": outcome.users_started,
        "cpu_percent": cpu,
        "cpu_bound": cpu >= _CPU_BOUND_PERCENT,
    }
    return StressResult(
        run_id=run_id,
        started_at=started_at,
        behave_version=behave_version,
        behave_args=[redact_text(a) for a in behave_args],
        plan=plan,
        elapsed_s=round(elapsed, 3),
        stop_reason=outcome.stop_reason,
        signal=outcome.signal_name,
        abandoned=outcome.abandoned,
        corrected=m.corrected,
        requests=row_of("all requests", m.all_requests, elapsed),
        endpoints=rows(tables["endpoints"]),
        steps=rows(tables["steps"]),
        scenarios=rows(tables["scenarios"]),
        iterations=iterations,
        timeline=tables["timeline"],
        client=client,
        pools=pools,
        histograms=histograms,
    )
