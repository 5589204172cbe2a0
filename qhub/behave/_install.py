"""``install(context)``: resolve config, put qhub's tools on the context, wrap the hooks."""

from __future__ import annotations

import atexit
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from qhub.behave._hooks import instrument_runner
from qhub.behave._loading import step_module_timings
from qhub.behave.session import QHubSession
from qhub.exceptions import QHubError


def _meta(context: Any, mode: str) -> dict[str, Any]:
    config = context.config
    tags = getattr(config, "tags", None)
    return {
        "mode": mode,
        "tags": [str(tags)] if tags else [],
        "names": list(getattr(config, "name", None) or []),
        "paths": [str(p) for p in (getattr(config, "paths", None) or [])],
        "argv": list(sys.argv[1:]),
        "worker_id": os.environ.get("QHUB_WORKER_ID"),
        "dry_run": bool(getattr(config, "dry_run", False)),
    }


def _publish(context: Any, session: QHubSession) -> None:
    context.qhub = session
    context.api = session.default_api
    context.cache = session.cache
    context.data = session.data
    context.profiler = session.profiler


class _SummaryReporter:
    """A behave reporter whose ``end()`` runs after behave's own totals are printed.

    behave calls reporters after ``after_all``, so qhub writes its reports in ``after_all``
    and prints its summary here: the run's output ends with qhub's summary and report path.
    """

    def __init__(self, session: QHubSession) -> None:
        self._session = session

    def feature(self, feature: Any) -> None:
        """Nothing to do per feature."""

    def end(self) -> None:
        self._session.print_summary()


def install(
    context: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    _mode: str = "install",
    _phases: Mapping[str, int] | None = None,
) -> QHubSession:
    """Turn qhub on for this behave run; call it from ``before_all``.

    Puts ``context.qhub``, ``context.api``, ``context.cache``, ``context.data`` and
    ``context.profiler`` on the context, and wraps the hooks so every step, scenario,
    feature and hook is timed while the user's own hooks keep running unchanged.
    ``overrides`` are settings with the highest precedence, e.g.
    ``{"api.base_url": server.url}``. Calling it again only applies new overrides.
    """
    existing = getattr(context, "qhub", None)
    if isinstance(existing, QHubSession):
        if overrides:
            existing.apply_overrides(overrides)
            _publish(context, existing)
        return existing
    started = time.perf_counter_ns()
    anchor = (time.time_ns(), started)
    try:
        session = QHubSession.start(dict(context.config.userdata or {}), overrides)
    except QHubError as exc:
        print(f"qhub: error: {exc}", file=sys.stderr)
        raise
    _publish(context, session)
    reporters = getattr(context.config, "reporters", None)
    if isinstance(reporters, list):
        reporters.append(_SummaryReporter(session))
        session.defer_summary = True
    instrument_runner(
        context._runner,
        session.observer,
        session.close,
        before_all_started_ns=started if _mode == "install" else None,
    )
    atexit.register(session.print_summary)
    atexit.register(session.close)
    if session.observer is not None:
        phases = dict(_phases or {})
        phases["qhub_install"] = time.perf_counter_ns() - started
        session.observer.run_started(
            clock_anchor=anchor,
            step_modules=step_module_timings(),
            phases=phases,
            meta=_meta(context, _mode),
        )
    return session
