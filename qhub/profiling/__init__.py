"""Per-step profiling, run history, baselines, the regression gate and reports.

Public names load lazily (PEP 562) so ``import qhub.profiling`` stays cheap: no psutil,
SQLite or report code is imported until first used. How the pieces fit (collect ->
freeze -> render): :class:`BehaveObserver` collects, :func:`~qhub.profiling.build.
build_record` freezes a :class:`RunRecord`, a :class:`RunHistory` stores it, the verdict
(:class:`Verdict`) compares it with a :class:`SampleSet` baseline under a
:class:`RegressionCheck`, and renderers turn the :class:`Report` into text, JSON, HTML,
Markdown, Prometheus, JUnit XML or GitHub annotations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "PerformanceProfiler": "qhub.profiling.performance",
    "profile_block": "qhub.profiling.performance",
    "profile_method": "qhub.profiling.performance",
    "start_global_profiling": "qhub.profiling.performance",
    "stop_global_profiling": "qhub.profiling.performance",
    "get_global_profiler": "qhub.profiling.performance",
    "get_global_performance_report": "qhub.profiling.performance",
    "get_performance_dashboard": "qhub.profiling.performance",
    "MemoryProfiler": "qhub.profiling.rss",
    "BehaveObserver": "qhub.profiling.observer",
    "RunRecord": "qhub.profiling.record",
    "RunHistory": "qhub.profiling.history",
    "open_history": "qhub.profiling.history",
    "SampleSet": "qhub.profiling.baseline",
    "RegressionCheck": "qhub.profiling.regression",
    "Threshold": "qhub.profiling.regression",
    "Verdict": "qhub.profiling.verdict",
    "Report": "qhub.profiling.reporting",
    "render_summary": "qhub.profiling.render.terminal_summary",
    "mann_whitney_u": "qhub.profiling.mannwhitney",
}

__all__ = [
    "BehaveObserver",
    "MemoryProfiler",
    "PerformanceProfiler",
    "RegressionCheck",
    "Report",
    "RunHistory",
    "RunRecord",
    "SampleSet",
    "Threshold",
    "Verdict",
    "get_global_performance_report",
    "get_global_profiler",
    "get_performance_dashboard",
    "mann_whitney_u",
    "open_history",
    "profile_block",
    "profile_method",
    "render_summary",
    "start_global_profiling",
    "stop_global_profiling",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from qhub.profiling.baseline import SampleSet
    from qhub.profiling.history import RunHistory, open_history
    from qhub.profiling.mannwhitney import mann_whitney_u
    from qhub.profiling.observer import BehaveObserver
    from qhub.profiling.performance import (
        PerformanceProfiler,
        get_global_performance_report,
        get_global_profiler,
        get_performance_dashboard,
        profile_block,
        profile_method,
        start_global_profiling,
        stop_global_profiling,
    )
    from qhub.profiling.record import RunRecord
    from qhub.profiling.regression import RegressionCheck, Threshold
    from qhub.profiling.render.terminal_summary import render_summary
    from qhub.profiling.reporting import Report
    from qhub.profiling.rss import MemoryProfiler
    from qhub.profiling.verdict import Verdict
