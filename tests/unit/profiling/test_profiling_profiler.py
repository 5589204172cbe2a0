"""PerformanceProfiler, profile_block, profile_method and the global functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import qhub
from qhub.exceptions import PerformanceRegression, ProfilerError
from qhub.profiling import performance as profiler_module
from qhub.profiling.performance import PerformanceProfiler, profile_block


def _profiler(fx: Any, **kw: Any) -> tuple[PerformanceProfiler, Any]:
    clock = fx.FakeClock()
    return PerformanceProfiler(clock=clock, memory_reader=fx.FakeRss(), **kw), clock


class TestPerformanceProfiler:
    """Seed API report keys and exact figures."""

    def test_report(self, fx: Any) -> None:
        prof, clock = _profiler(fx)
        prof.start_profiling()

        @prof.profile_method()
        def load(ms: float) -> str:
            clock.advance_ms(ms)
            return "ok"

        assert load(5) == "ok"
        assert load(15) == "ok"
        with profile_block(prof, "setup"):
            clock.advance_ms(40)
        report = prof.get_performance_report()
        assert report["summary"]["total_methods"] == 2
        assert report["summary"]["total_calls"] == 3
        top = report["top_methods_by_total_time"]
        assert top[0]["method"] == "setup"
        assert top[0]["total_ms"] == 40.0
        name = f"{__name__}.TestPerformanceProfiler.test_report.<locals>.load"
        assert report["methods"][name]["mean_ms"] == 10.0
        assert report["top_methods_by_mean_time"][0]["method"] == "setup"
        assert report["memory"]["samples"] == 1

    def test_records_only_while_active(self, fx: Any) -> None:
        prof, clock = _profiler(fx)
        with prof.block("before start"):
            clock.advance_ms(1)
        prof.start_profiling()
        prof.stop_profiling()
        with prof.block("after stop"):
            clock.advance_ms(1)
        assert prof.get_performance_report()["summary"]["total_methods"] == 0

    def test_errors_counted_and_reraised(self, fx: Any) -> None:
        prof, _ = _profiler(fx)
        prof.start_profiling()

        @prof.profile_method("boom")
        def boom() -> None:
            raise ValueError("x")

        with pytest.raises(ValueError):
            boom()
        assert prof.get_performance_report()["methods"]["boom"]["errors"] == 1

    def test_baseline_file_and_regressions(self, fx: Any, tmp_path: Path) -> None:
        path = tmp_path / "baseline.json"
        prof, clock = _profiler(fx, baseline_file=path)
        prof.start_profiling()
        for _ in range(20):
            with prof.block("query"):
                clock.advance_ms(10)
        prof.set_performance_baseline()
        assert path.exists()
        # a new profiler (next run) reads the file; the query got 50% slower
        later, clock2 = _profiler(fx, baseline_file=path)
        later.start_profiling()
        for i in range(20):
            with later.block("query"):
                clock2.advance_ms(15 + (i % 3) * 0.1)
        regressions = later.detect_performance_regressions(threshold_percent=25.0)
        assert [r["key"] for r in regressions] == ["query"]
        assert regressions[0]["change_percent"] == pytest.approx(50.0, abs=1)
        assert (regressions[0]["direction"], regressions[0]["method"]) == (
            "regression", "mann-whitney"
        )  # fmt: skip
        assert later.detect_performance_regressions(threshold_percent=60.0) == []
        with pytest.raises(PerformanceRegression, match=r"^1 method\(s\) slower .*: query$"):
            later.assert_no_regressions(threshold_percent=25.0)
        later.assert_no_regressions(threshold_percent=60.0)

    def test_no_baseline_no_regressions(self, fx: Any) -> None:
        prof, _ = _profiler(fx)
        assert prof.detect_performance_regressions() == []

    def test_bad_baseline_file(self, fx: Any, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        path.write_text('{"schema": "something else"}')
        prof, _ = _profiler(fx, baseline_file=path)
        with pytest.raises(ProfilerError, match="not a qhub baseline"):
            prof.detect_performance_regressions()


class TestGlobalProfiling:
    """start/stop_global_profiling, module-level profile_method, dashboard."""

    def test_global_flow(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(profiler_module, "_global", None)

        @qhub.profile_method("critical_test_step")
        def critical() -> int:
            return 1

        critical()  # not started: not recorded
        qhub.start_global_profiling()
        critical()
        critical()
        with qhub.profile_block(None, "block"):
            pass
        qhub.stop_global_profiling()
        critical()
        report = qhub.get_global_performance_report()
        assert report["methods"]["critical_test_step"]["count"] == 2
        assert report["methods"]["block"]["count"] == 1

        class Cache:
            def get_stats(self) -> dict[str, int]:
                return {"hits": 1}

        dashboard = qhub.get_performance_dashboard(cache=Cache())
        assert dashboard["cache_performance"] == {"hits": 1}
        assert dashboard["profiling_report"]["summary"]["total_methods"] == 2
        assert dashboard["connection_pool_stats"] is None
        assert dashboard["memory_usage"]["samples"] == 2
        profiler = qhub.profiling.get_global_profiler()
        assert profiler.stats() == profiler.get_performance_report() | {
            "summary": profiler.stats()["summary"]
        }
        assert profiler.memory_profiler is not None
        assert profiler.memory_profiler.stats()["samples"] == 2


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, qhub.profiling; "
        "heavy = [m for m in ('psutil', 'sqlite3', 'orjson', 'behave', 'qhub.profiling.observer')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
