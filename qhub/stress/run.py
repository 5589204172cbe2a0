"""``run_stress``: load the suite, run ``before_all``, the load, ``after_all``; freeze, gate.

The order of a stress run:

1. behave parses the arguments and loads the suite as for a normal run (``suite``);
2. qhub is installed on the main context with the stress settings (pools sized to the
   users, single-run profiling off), then the user's ``before_all`` runs once;
3. the allowed hosts are read from the configuration as ``before_all`` left it;
4. the virtual users run (``engine``) while every request is measured (``sink``) and
   checked against the allowed hosts (``guard``);
5. ``after_all`` runs once and behave's clean-ups; the measurements are frozen
   (``result``) and checked against the budgets (``budgets``);
6. the run is compared with the previous stress run in the run history and recorded there
   (``history``, :func:`record_and_compare`); the reports are written.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from qhub._atomic import atomic_write_text
from qhub._record import frozen_record
from qhub.exceptions import StressError
from qhub.stress.budgets import check_budgets
from qhub.stress.engine import LoadOutcome, run_load
from qhub.stress.guard import HostGuard
from qhub.stress.measure import Measurements
from qhub.stress.plan import StressPlan, resolve_plan
from qhub.stress.progress import ProgressLine
from qhub.stress.result import StressResult, freeze
from qhub.stress.sink import RequestSink
from qhub.stress.suite import (
    base_urls,
    behave_config,
    do_cleanups,
    install_overrides,
    load_and_run,
    run_hook,
)


@dataclass
class StressOptions:
    """What the command line asked for; None means "use the ``stress.*`` setting"."""

    behave_args: list[str] = field(default_factory=list)
    users: int | None = None
    duration_s: float | None = None
    iterations: int | None = None
    ramp_up_s: float | None = None
    rate: float | None = None
    multiplier: float | None = None
    scale: str | None = None
    grace_s: float | None = None
    progress: bool | None = None
    """Show the live line; None: when stderr is a terminal."""

    def plan_values(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "duration_s": self.duration_s,
            "iterations": self.iterations,
            "ramp_up_s": self.ramp_up_s,
            "rate": self.rate,
            "multiplier": self.multiplier,
            "scale": self.scale,
            "grace_s": self.grace_s,
        }


@frozen_record(slots=False)
class StressRun:
    """A finished stress run: its record and the configuration it ran with."""

    result: StressResult
    config: Any


def _behave_version() -> str:
    from importlib.metadata import version

    return version("behave")


def run_stress(options: StressOptions, *, stderr: TextIO | None = None) -> StressRun:
    """Run the stress test ``options`` describe; raises :class:`StressError` when it cannot
    start. A run stopped by a signal still returns its (partial) result."""
    from qhub.behave import install
    from qhub.config import load_config
    from qhub.profiling.behave_model import PatternIndex
    from qhub.stress.users import VirtualUser, seed_entries

    err = stderr or sys.__stderr__ or sys.stderr
    bconfig = behave_config(options.behave_args)
    config = load_config(userdata=dict(getattr(bconfig, "userdata", None) or {}))
    plan = resolve_plan(config.stress, options.plan_values())
    measurements = Measurements(corrected=plan.rate is not None)
    sink = RequestSink(measurements)
    show = options.progress if options.progress is not None else _is_tty(err)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run_id = f"stress-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    overrides = install_overrides(config, plan.users)

    def body(runner: Any, locations: list[Any]) -> tuple[LoadOutcome, dict[str, Any], Any]:
        context = runner.context
        session = install(context, overrides)
        try:
            if not run_hook(runner, "before_all"):
                raise StressError("before_all failed (its HOOK-ERROR is printed above)")
            session = context.qhub
            guard = HostGuard(base_urls(session.config), session.config.stress.allowed_hosts)
            if not guard.allowed:
                raise StressError(
                    "no API host configured (api.base_url, apis.<name>.base_url or "
                    "stress.allowed_hosts): stress sends load only to configured hosts"
                )
            seed = seed_entries(context)
            patterns = PatternIndex(registries=[runner.step_registry])

            def make_user(index: int, pacer: Any, control: Any) -> VirtualUser:
                return VirtualUser(
                    index,
                    config=runner.config,
                    hooks=runner.hooks,
                    step_registry=runner.step_registry,
                    seed=seed,
                    locations=locations,
                    measurements=measurements,
                    sink=sink,
                    pacer=pacer,
                    control=control,
                    patterns=patterns,
                )

            err.write(f"qhub stress: {plan.describe()}; load allowed to {guard.describe()}\n")
            err.flush()
            outcome = run_load(
                plan=plan,
                measurements=measurements,
                guard=guard,
                sink=sink,
                make_user=make_user,
                progress=ProgressLine(err, enabled=show, users=plan.users),
            )
            try:
                pools = dict(session.stats().get("api", {}))
            except Exception:
                pools = {}
            return outcome, pools, session.config
        finally:
            run_hook(runner, "after_all")
            try:
                do_cleanups(context)
            except Exception as exc:
                err.write(f"qhub stress: a context clean-up failed: {exc}\n")

    outcome, pools, final_config = load_and_run(bconfig, body)
    result = freeze(
        measurements,
        run_id=run_id,
        started_at=started_at,
        behave_version=_behave_version(),
        behave_args=list(options.behave_args),
        plan=plan,
        outcome=outcome,
        pools=pools,
    )
    result = result.with_budgets(check_budgets(result, final_config.stress))
    return StressRun(result, final_config)


def compare_with_previous(run: StressRun, previous: dict[str, Any] | None) -> StressRun:
    """``run`` with its comparison against ``previous`` (the profiling thresholds)."""
    from qhub.stress.compare import compare_with_settings

    if previous is None:
        return run
    comparison = compare_with_settings(previous, run.result.as_dict(), run.config.profiling)
    return StressRun(run.result.with_comparison(comparison.as_dict()), run.config)


def record_and_compare(run: StressRun) -> StressRun:
    """Compare ``run`` with the previous stress run in the run history, then record it
    there (the history is opened once, under its lock, as the end of a behave run opens
    it); ``run`` with its comparison. A history that cannot be used is said once and the
    run is neither compared nor recorded."""
    from qhub.profiling.recording import recording_history
    from qhub.stress.history import previous_document, record_run

    with recording_history(run.config) as history:
        run = compare_with_previous(run, previous_document(history))
        record_run(history, run.result)
    return run


def write_reports(run: StressRun) -> list[Path]:
    """``stress.json`` (always), ``stress.html`` and ``stress.prom`` (when ``report.formats``
    has html / prometheus) in the report folder."""
    from qhub.stress.render import renderer

    config = run.config
    folder = config.path(config.report.dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    targets = [("json", "stress.json")]
    if "html" in config.report.formats:
        targets.append(("html", "stress.html"))
    if "prometheus" in config.report.formats:
        targets.append(("prometheus", "stress.prom"))
    for fmt, name in targets:
        path = folder / name
        atomic_write_text(path, renderer(fmt)(run.result))
        written.append(path)
    return written


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


__all__ = [
    "StressOptions",
    "StressPlan",
    "StressRun",
    "compare_with_previous",
    "record_and_compare",
    "run_stress",
    "write_reports",
]
