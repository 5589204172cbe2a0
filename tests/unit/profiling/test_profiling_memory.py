"""Leak detection from an RSS trend, on synthetic series."""

from __future__ import annotations

import random
from typing import Any

from qhub.profiling.rss import MemoryProfiler, detect_leak, linear_trend, rss_reader


class TestTrend:
    """OLS slope with a confidence bound."""

    def test_exact_line(self) -> None:
        trend = linear_trend([1.0, 3.0, 5.0, 7.0])
        assert trend.slope == 2.0
        assert trend.low == trend.high == 2.0

    def test_noise_only_is_not_increasing(self) -> None:
        rng = random.Random(1)
        assert not linear_trend([100 + rng.gauss(0, 3) for _ in range(40)]).increasing


class TestDetectLeak:
    """Slope-based verdict, naming where growth happened."""

    def test_steady_growth_is_a_leak(self) -> None:
        rng = random.Random(2)
        series = [100 + 1.0 * i + rng.uniform(-0.3, 0.3) for i in range(30)]
        labels = [f"scenario {i}" for i in range(30)]
        series[12] += 5  # one scenario grows more than the others
        series[13:] = [v + 5 for v in series[13:]]
        result = detect_leak(series, labels, threshold_mb=10.0, start_mb=99.0)
        assert result["leak"] is True
        assert 1.0 < result["slope_mb_per_item"] < 1.5
        assert result["slope_ci95"][0] > 0
        assert result["top_growth"][0]["name"] == "scenario 12"

    def test_first_to_last_delta_alone_is_not_a_leak(self) -> None:
        series = [100.0, 125.0] * 10  # ends 25 MB above where it started, no trend
        series[-1] = 125.0
        result = detect_leak(series, [str(i) for i in range(20)], threshold_mb=10.0)
        assert result["first_to_last_mb"] == 25.0
        assert result["leak"] is False

    def test_small_growth_under_threshold(self) -> None:
        series = [100 + 0.1 * i for i in range(30)]  # 2.9 MB over the run
        assert detect_leak(series, [str(i) for i in range(30)], threshold_mb=10.0)["leak"] is False

    def test_too_few_points(self) -> None:
        assert (
            detect_leak([100.0, 200.0, 300.0], ["a", "b", "c"], threshold_mb=1.0)["leak"] is False
        )


class TestMemoryProfiler:
    """Seed API: detect_memory_leaks and get_memory_usage_report."""

    def test_with_fake_reader(self) -> None:
        values = iter(int((100 + 2 * i) * 1024 * 1024) for i in range(100))
        profiler = MemoryProfiler(reader=lambda: next(values))
        for i in range(20):
            profiler.sample(f"s{i}")
        leaks = profiler.detect_memory_leaks(threshold_mb=10.0)
        assert len(leaks) == 1
        assert leaks[0]["slope_mb_per_item"] == 2.0
        report = profiler.get_memory_usage_report()
        assert report["samples"] == 20
        assert report["start_mb"] == 100.0
        assert report["peak_mb"] == 138.0
        assert report["growth_mb"] == 38.0

    def test_real_reader_matches_psutil(self) -> None:
        import psutil

        read = rss_reader()
        ours, theirs = read(), psutil.Process().memory_info().rss
        assert abs(ours - theirs) < 8 * 1024 * 1024


def test_leak_in_observer_names_scenarios(make_observer: Any, fx: Any) -> None:
    d = make_observer()
    d.start()
    step = fx.definition("x", 1)
    for i in range(12):
        scenario = fx.FakeScenario(f"grows {i}", f"f.feature:{i}")
        d.begin("scenario", scenario)
        d.step(fx.FakeStep("x", match=step), 1, grow_mb=4.0 if i != 6 else 9.0)
        d.end("scenario", scenario)
    d.finish()
    (leak,) = d.report.verdict.leaks
    assert leak.leak is True
    assert (leak.top_growth[0].name, leak.top_growth[0].growth_mb) == ("grows 6", 9.0)
