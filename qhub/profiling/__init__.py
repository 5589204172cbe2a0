"""Per-step profiling, run history, baselines, regression and leak detection, reports.

Public names load lazily (PEP 562) so ``import qhub.profiling`` stays cheap: no psutil,
SQLite or report code is imported until first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "PerformanceProfiler": "qhub.profiling.profiler",
    "profile_block": "qhub.profiling.profiler",
    "profile_method": "qhub.profiling.profiler",
    "start_global_profiling": "qhub.profiling.profiler",
    "stop_global_profiling": "qhub.profiling.profiler",
    "get_global_profiler": "qhub.profiling.profiler",
    "get_global_performance_report": "qhub.profiling.profiler",
    "get_performance_dashboard": "qhub.profiling.profiler",
    "MemoryProfiler": "qhub.profiling.memory",
    "BehaveObserver": "qhub.profiling.observer",
    "Baseline": "qhub.profiling.baseline",
    "RegressionCheck": "qhub.profiling.regression",
    "History": "qhub.profiling.history",
    "mann_whitney_u": "qhub.profiling.mannwhitney",
}

__all__ = [
    "Baseline",
    "BehaveObserver",
    "History",
    "MemoryProfiler",
    "PerformanceProfiler",
    "RegressionCheck",
    "get_global_performance_report",
    "get_global_profiler",
    "get_performance_dashboard",
    "mann_whitney_u",
    "profile_block",
    "profile_method",
    "start_global_profiling",
    "stop_global_profiling",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from qhub.profiling.baseline import Baseline
    from qhub.profiling.history import History
    from qhub.profiling.mannwhitney import mann_whitney_u
    from qhub.profiling.memory import MemoryProfiler
    from qhub.profiling.observer import BehaveObserver
    from qhub.profiling.profiler import (
        PerformanceProfiler,
        get_global_performance_report,
        get_global_profiler,
        get_performance_dashboard,
        profile_block,
        profile_method,
        start_global_profiling,
        stop_global_profiling,
    )
    from qhub.profiling.regression import RegressionCheck
