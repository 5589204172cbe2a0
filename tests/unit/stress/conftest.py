"""Helpers of the stress unit tests (also used by the HTML stress-section tests)."""

from __future__ import annotations

from types import SimpleNamespace

from qhub.config import StressSettings
from qhub.stress.measure import Measurements
from qhub.stress.plan import StressPlan, resolve_plan
from qhub.stress.result import StressResult, freeze


def frozen_result(
    m: Measurements,
    *,
    elapsed_s: float = 1.0,
    stop_reason: str = "iterations",
    signal_name: str | None = None,
    cpu_percent: float = 1.0,
    users_started: int = 1,
    run_id: str = "r",
    started_at: str = "t",
    plan: StressPlan | None = None,
) -> StressResult:
    """The :class:`StressResult` ``qhub stress`` freezes from ``m`` after a load phase that
    ended as described (default plan, no pools, nothing abandoned)."""
    outcome = SimpleNamespace(
        elapsed_s=elapsed_s,
        stop_reason=stop_reason,
        signal_name=signal_name,
        abandoned=False,
        cpu_percent=cpu_percent,
        users_started=users_started,
        iterations_due=0,
        iterations_handed_out=0,
    )
    return freeze(
        m,
        run_id=run_id,
        started_at=started_at,
        behave_version="1.3.3",
        behave_args=[],
        plan=plan if plan is not None else resolve_plan(StressSettings(), {}),
        outcome=outcome,
        pools={},
    )
