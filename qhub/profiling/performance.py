"""``PerformanceProfiler``: named timings of methods and code blocks, usable anywhere.

Inside behave, ``context.profiler`` is the run's profiler and everything timed with
:func:`profile_block` or :meth:`PerformanceProfiler.profile_method` lands in the run report.
Outside behave it works on its own. A profiler records only between
:meth:`~PerformanceProfiler.start_profiling` and :meth:`~PerformanceProfiler.stop_profiling`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from qhub.profiling.rss import MB, MemoryProfiler
from qhub.profiling.timings import NS_PER_MS, TimingStats

if TYPE_CHECKING:
    from qhub.config import QHubConfig
    from qhub.profiling.baseline import SampleSet
    from qhub.profiling.record import MethodRow

F = TypeVar("F", bound=Callable[..., Any])


class PerformanceProfiler:
    """Collects timings per name; reports, baselines and regression checks over them."""

    def __init__(
        self,
        enable_memory_profiling: bool = True,
        baseline_file: str | Path | None = None,
        *,
        clock: Callable[[], int] = time.perf_counter_ns,
        memory_reader: Callable[[], int] | None = None,
        noise_floor_ms: float = 2.0,
    ) -> None:
        self._clock = clock
        self.baseline_file = Path(baseline_file) if baseline_file else None
        self.noise_floor_ms = noise_floor_ms
        self.memory_profiler: MemoryProfiler | None = (
            MemoryProfiler(memory_reader) if enable_memory_profiling else None
        )
        self.active = False
        self._methods: dict[str, TimingStats] = {}
        self._errors: dict[str, int] = {}
        self._rss_delta: dict[str, int] = {}
        self._baseline: SampleSet | None = None
        self._started_ns: int | None = None
        self._stopped_ns: int | None = None

    @classmethod
    def from_config(
        cls, config: QHubConfig, *, clock: Callable[[], int] = time.perf_counter_ns
    ) -> PerformanceProfiler:
        """The run's profiler for ``config`` (memory is sampled by the run's observer)."""
        settings = config.profiling
        return cls(
            enable_memory_profiling=False,
            baseline_file=config.path(settings.baseline_file) if settings.baseline_file else None,
            clock=clock,
            noise_floor_ms=settings.noise_floor_ms,
        )

    # -- recording -------------------------------------------------------------------------
    def start_profiling(self) -> None:
        """Start recording (again); earlier records are kept."""
        self.active = True
        self._started_ns = self._clock()
        self._stopped_ns = None
        if self.memory_profiler is not None:
            self.memory_profiler.sample("start")

    def stop_profiling(self) -> None:
        """Stop recording; the records stay available for reports."""
        if self.active and self.memory_profiler is not None:
            self.memory_profiler.sample("stop")
        self.active = False
        self._stopped_ns = self._clock()

    def reset(self) -> None:
        """Forget every record (the baseline is kept)."""
        self._methods.clear()
        self._errors.clear()
        self._rss_delta.clear()

    def record(
        self, name: str, duration_ns: int, *, failed: bool = False, rss_delta: int | None = None
    ) -> None:
        """Add one timing of ``name`` (used by the decorators and blocks)."""
        stats = self._methods.get(name)
        if stats is None:
            stats = self._methods[name] = TimingStats()
        stats.samples.append(duration_ns)
        if failed:
            self._errors[name] = self._errors.get(name, 0) + 1
        if rss_delta is not None:
            self._rss_delta[name] = self._rss_delta.get(name, 0) + rss_delta

    @contextmanager
    def block(self, name: str) -> Iterator[None]:
        """Time the ``with`` body as ``name`` (while profiling is active)."""
        if not self.active:
            yield
            return
        mem = self.memory_profiler
        rss0 = mem._read() if mem is not None else 0
        failed = True
        start = self._clock()
        try:
            yield
            failed = False
        finally:
            duration = self._clock() - start
            rss_delta = (mem._read() - rss0) if mem is not None else None
            self.record(name, duration, failed=failed, rss_delta=rss_delta)

    def profile_method(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator timing every call of the function as ``name`` (default: its qualname)."""

        def decorate(func: F) -> F:
            label = name or f"{func.__module__}.{func.__qualname__}"

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if not self.active:
                    return func(*args, **kwargs)
                with self.block(label):
                    return func(*args, **kwargs)

            return cast(F, wrapper)

        return decorate

    # -- reporting -------------------------------------------------------------------------
    def samples_ms(self) -> dict[str, list[float]]:
        """Every recorded duration per name, in ms."""
        return {n: [s / NS_PER_MS for s in st.samples] for n, st in self._methods.items()}

    def method_rows(self) -> list[dict[str, Any]]:
        """One dict per name: ``method``, timing figures, ``errors``, ``rss_delta_mb``."""
        rows = []
        for name, stats in self._methods.items():
            row: dict[str, Any] = {"method": name, **stats.as_dict()}
            row["errors"] = self._errors.get(name, 0)
            if name in self._rss_delta:
                row["rss_delta_mb"] = round(self._rss_delta[name] / MB, 3)
            rows.append(row)
        return rows

    def method_records(self) -> tuple[MethodRow, ...]:
        """The same figures as frozen rows (with at most 2,000 samples each) for run records."""
        from qhub.profiling.build import thin
        from qhub.profiling.record import MethodRow

        out = []
        for name, stats in self._methods.items():
            figures = stats.as_dict()
            delta = self._rss_delta.get(name)
            out.append(
                MethodRow(
                    method=name,
                    errors=self._errors.get(name, 0),
                    rss_delta_mb=round(delta / MB, 3) if delta is not None else None,
                    samples_ms=tuple(round(v / NS_PER_MS, 3) for v in thin(stats.samples)),
                    **figures,
                )
            )
        return tuple(out)

    def get_performance_report(self, top: int = 10) -> dict[str, Any]:
        """Summary, every method's figures and the top methods by total and by mean time."""
        rows = self.method_rows()
        end = self._stopped_ns if self._stopped_ns is not None else self._clock()
        report: dict[str, Any] = {
            "summary": {
                "total_methods": len(rows),
                "total_calls": sum(r["count"] for r in rows),
                "total_time_ms": round(sum(r["total_ms"] for r in rows), 3),
                "errors": sum(r["errors"] for r in rows),
                "profiling_active": self.active,
                "profiling_duration_s": round((end - self._started_ns) / 1e9, 6)
                if self._started_ns is not None
                else 0.0,
            },
            "methods": {r["method"]: r for r in rows},
            "top_methods_by_total_time": sorted(rows, key=lambda r: -r["total_ms"])[:top],
            "top_methods_by_mean_time": sorted(rows, key=lambda r: -r["mean_ms"])[:top],
        }
        if self.memory_profiler is not None:
            report["memory"] = self.memory_profiler.get_memory_usage_report()
        return report

    def stats(self) -> dict[str, Any]:
        """:meth:`get_performance_report` under qhub's one name for "your figures"."""
        return self.get_performance_report()

    # -- baselines and regressions ---------------------------------------------------------
    def _samples(self, source: str) -> SampleSet:
        from qhub.profiling.baseline import Item, SampleSet

        items = {
            name: Item(kind="method", key=name, name=name, runs=(tuple(samples),))
            for name, samples in self.samples_ms().items()
            if samples
        }
        return SampleSet(items={"method": items}, source=source)

    def set_performance_baseline(self) -> SampleSet:
        """Pin the current records as the baseline (and write ``baseline_file`` if set)."""
        from qhub.profiling.baseline import write_baseline

        baseline = self._samples("memory")
        self._baseline = baseline
        if self.baseline_file is not None:
            write_baseline(self.baseline_file, baseline)
        return baseline

    def detect_performance_regressions(
        self, threshold_percent: float = 20.0, *, include_improvements: bool = False
    ) -> list[dict[str, Any]]:
        """Methods significantly slower than the baseline (see :mod:`qhub.profiling.regression`).

        Uses the baseline pinned in memory, else the one in ``baseline_file``; none -> ``[]``.
        Each dict holds the comparison (``kind``, ``key``, ``verdict``/``direction``,
        ``baseline_ms``, ``current_ms``, ``change_percent``, ``method``, ``reason`` ...).
        """
        import dataclasses

        from qhub.profiling.baseline import read_baseline
        from qhub.profiling.regression import RegressionCheck, Threshold
        from qhub.profiling.verdict import compare_sets

        baseline = self._baseline
        if baseline is None and self.baseline_file is not None and self.baseline_file.exists():
            baseline = self._baseline = read_baseline(self.baseline_file)
        if baseline is None:
            return []
        check = RegressionCheck(
            thresholds=(Threshold("median", threshold_percent, "%"),),
            noise_floor_ms=self.noise_floor_ms,
        )
        wanted = ("regression", "improvement") if include_improvements else ("regression",)
        return [
            {**dataclasses.asdict(c), "direction": c.verdict}
            for c in compare_sets(self._samples("current"), baseline, check)
            if c.verdict in wanted
        ]

    def assert_no_regressions(self, threshold_percent: float = 20.0) -> None:
        """Raise :class:`~qhub.exceptions.PerformanceRegression` when a method got slower."""
        from qhub.exceptions import PerformanceRegression

        found = self.detect_performance_regressions(threshold_percent)
        if found:
            names = ", ".join(str(c["name"]) for c in found[:3])
            raise PerformanceRegression(f"{len(found)} method(s) slower than the baseline: {names}")


@contextmanager
def profile_block(profiler: PerformanceProfiler | None, name: str) -> Iterator[None]:
    """Time a ``with`` block as ``name`` on ``profiler`` (``None`` = the global profiler)."""
    target = profiler if profiler is not None else _global
    if target is None:
        yield
        return
    with target.block(name):
        yield


# -- the global profiler (seed API) ----------------------------------------------------------
_global: PerformanceProfiler | None = None


def get_global_profiler() -> PerformanceProfiler:
    """The process-wide profiler, created (inactive) on first use."""
    global _global
    if _global is None:
        _global = PerformanceProfiler()
    return _global


def start_global_profiling(enable_memory_profiling: bool = True) -> PerformanceProfiler:
    """Start the process-wide profiler and return it."""
    global _global
    if _global is None:
        _global = PerformanceProfiler(enable_memory_profiling=enable_memory_profiling)
    _global.start_profiling()
    return _global


def stop_global_profiling() -> None:
    """Stop the process-wide profiler (its records stay for the report)."""
    if _global is not None:
        _global.stop_profiling()


def profile_method(name: str | None = None) -> Callable[[F], F]:
    """Decorator timing calls on the global profiler whenever it is active."""

    def decorate(func: F) -> F:
        label = name or f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            profiler = _global
            if profiler is None or not profiler.active:
                return func(*args, **kwargs)
            with profiler.block(label):
                return func(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def get_global_performance_report() -> dict[str, Any]:
    """The global profiler's :meth:`~PerformanceProfiler.get_performance_report`."""
    return get_global_profiler().get_performance_report()


def get_performance_dashboard(
    profiler: PerformanceProfiler | None = None,
    *,
    cache: Any = None,
    api_client: Any = None,
    optimizer: Any = None,
    data: Any = None,
) -> dict[str, Any]:
    """Every available statistic in one dict (seed ``get_performance_dashboard``).

    Objects not given are ``None`` in the result; the profiler defaults to the global one.
    """
    prof = profiler if profiler is not None else get_global_profiler()
    memory = prof.memory_profiler.get_memory_usage_report() if prof.memory_profiler else None
    return {
        "profiling_report": prof.get_performance_report(),
        "memory_usage": memory,
        "cache_performance": cache.get_stats() if cache is not None else None,
        "connection_pool_stats": api_client.get_pool_stats() if api_client is not None else None,
        "import_optimization": optimizer.get_optimization_report()
        if optimizer is not None
        else None,
        "test_data": data.get_cache_performance_metrics() if data is not None else None,
    }
