"""BehaveObserver driven with fake behave objects on a fake clock: exact figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qhub.profiling.history import open_history
from qhub.profiling.performance import profile_block
from qhub.profiling.record import to_json

WAIT_KEY = "steps/x.py::when::I wait {ms:d} ms"
CHECK_KEY = "steps/x.py::then::it is fine"


def _suite(d: Any, fx: Any) -> None:
    """One feature, two scenarios; 'wait' steps of 10/20/30/40 ms, 'check' steps of 1 ms."""
    wait = fx.definition("wait", 10, "I wait {ms:d} ms")
    check = fx.definition("check", 20, "it is fine")
    feature = fx.FakeFeature()
    d.begin("feature", feature)
    for i, waits in enumerate(([10, 20], [30, 40])):
        scenario = fx.FakeScenario(f"scenario {i}", f"features/a.feature:{5 + i}")
        d.begin("scenario", scenario, hook_ms=2)
        for ms in waits:
            step = fx.FakeStep(f"I wait {ms} ms", keyword="When", step_type="when", match=wait)
            d.step(step, ms, after_hook_ms=5)
        d.step(fx.FakeStep("it is fine", keyword="Then", step_type="then", match=check), 1)
        d.end("scenario", scenario, hook_ms=3)
    d.end("feature", feature)


class TestAggregation:
    """Rows per step definition with exact counts, totals and percentiles."""

    def test_rows_per_definition(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start(before_all_ms=100, modules=[("steps/x.py", 50_000_000)])
        _suite(d, fx)
        d.finish(after_all_ms=7)
        rows = {r.key: r for r in d.record.step_definitions}
        wait = rows[WAIT_KEY]
        assert (wait.count, wait.total_ms, wait.mean_ms) == (4, 100.0, 25.0)
        assert (wait.min_ms, wait.p50_ms, wait.max_ms) == (10.0, 25.0, 40.0)
        assert wait.p95_ms == 38.5  # linear interpolation between 30 and 40
        assert wait.samples_ms == (10.0, 20.0, 30.0, 40.0)
        assert (wait.location, wait.file, wait.line, wait.function) == (
            "steps/x.py:10", "steps/x.py", 10, "wait"
        )  # fmt: skip
        assert [t.text for t in wait.texts] == [
            "When I wait 40 ms",
            "When I wait 30 ms",
            "When I wait 20 ms",
            "When I wait 10 ms",
        ]
        assert rows[CHECK_KEY].count == 2
        assert rows[CHECK_KEY].total_ms == 2.0
        assert d.record.step_definitions[0].key == WAIT_KEY  # slowest total first

    def test_scenarios_hooks_and_totals(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        _suite(d, fx)
        d.finish()
        record = d.record
        s0, s1 = record.scenarios
        # scenario body: its steps plus after_step hooks inside it
        assert s0.duration_ms == 10 + 20 + 1 + 5 * 2
        assert s0.hooks_ms == 2 + 10 + 3
        assert s1.duration_ms == 30 + 40 + 1 + 10
        assert (s0.key, s0.location) == ("features/a.feature::scenario 0", "features/a.feature:5")
        hooks = {h.hook: h for h in record.hooks}
        assert hooks["after_step"].count == 6
        assert hooks["after_step"].total_ms == 20.0
        assert hooks["before_scenario"].total_ms == 4.0
        assert record.totals.steps == 6
        assert record.totals.scenarios == 2
        assert record.totals.steps_by_status == {"passed": 6}
        assert record.totals.source == "observed"  # fake features have no scenarios to walk

    def test_profile_block_lands_in_report(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        with profile_block(d.obs.profiler, "login"):
            d.clock.advance_ms(12)
        d.finish()
        methods = {m.method: m for m in d.record.methods}
        assert methods["login"].count == 1
        assert methods["login"].total_ms == 12.0
        assert methods["login"].samples_ms == (12.0,)

    def test_undefined_and_redacted_text(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        step = fx.FakeStep("I log in with token=hunter2", match=fx.definition("login", 3))
        d.step(step, 1)
        d.step(fx.FakeStep("nobody implemented me"), 1)
        d.finish()
        text = to_json(d.record).decode()
        assert "hunter2" not in text
        assert "token=<redacted>" in text
        assert "<undefined>::given::(undefined step)" in {r.key for r in d.record.step_definitions}

    def test_nested_steps_count_apart(self, make_observer: Any, fx: Any) -> None:
        """execute_steps sub-steps: their own rows' nested_calls, not in step_bodies twice."""
        d = make_observer()
        d.start()
        outer = fx.FakeStep("I do both", match=fx.definition("both", 1))
        inner = fx.FakeStep("I do one", match=fx.definition("one", 2))
        d.begin("step", outer)
        d.clock.advance_ms(1)
        d.step(inner, 4)
        d.step(inner, 4)
        d.clock.advance_ms(1)
        d.end("step", outer)
        d.finish()
        rows = {r.function: r for r in d.record.step_definitions}
        assert (rows["both"].count, rows["both"].nested_calls, rows["both"].total_ms) == (1, 0, 10)
        assert (rows["one"].count, rows["one"].nested_calls) == (2, 2)
        assert d.record.attribution.ms("step_bodies") == 10.0
        assert (d.record.totals.steps, d.record.totals.sub_steps) == (1, 2)


class TestChargedSetUp:
    """qhub's lazily built tools charge their set-up (qhub._overhead): not the user's time."""

    def test_charged_time_leaves_the_step_and_hook(
        self, make_observer: Any, fx: Any, clock: Any, monkeypatch: Any
    ) -> None:
        import qhub._overhead as overhead

        monkeypatch.setattr(overhead, "perf_counter_ns", clock)
        d = make_observer()
        d.start()
        scenario = fx.FakeScenario("s", "features/a.feature:3")
        start = d.clock()  # a before_scenario hook: 2 ms of its own, 3 ms building context.api
        d.clock.advance_ms(2)
        with overhead.charged("context.api"):
            d.clock.advance_ms(3)
        d.obs.on_hook("before_scenario", scenario, start, d.clock(), False)
        d.obs.on_start("scenario", scenario, d.clock())
        step = fx.FakeStep("I call the API", match=fx.definition("call", 1))
        d.begin("step", step)
        d.clock.advance_ms(6)
        with overhead.charged("context.cache"):
            d.clock.advance_ms(4)
        d.end("step", step)
        d.end("scenario", scenario)
        d.finish()
        (row,) = d.record.step_definitions
        assert row.total_ms == 6.0  # 10 ms measured, 4 ms were qhub's cache set-up
        assert d.record.scenarios[0].duration_ms == 6.0
        hooks = {h.hook: h for h in d.record.hooks}
        assert hooks["before_scenario"].total_ms == 2.0  # 5 ms measured, 3 ms charged
        parts = {p.name: p.ms for p in d.record.attribution.parts}
        assert parts["step_bodies"] == 6.0
        assert parts["qhub_first_use"] == 7.0  # 3 + 4 ms of tools built on first use
        assert d.record.attribution.parts_total_ms == d.record.attribution.wall_ms


class TestMemorySampling:
    """RSS is read at a step's end only when memory_interval_ms passed since the last read."""

    def test_short_steps_share_readings_and_nothing_is_lost(
        self, make_observer: Any, fx: Any
    ) -> None:
        reads = {"n": 0}
        d = make_observer(**{"profiling.memory_interval_ms": 1.0})
        raw = d.obs._rss_raw

        def counting() -> int:
            reads["n"] += 1
            return int(raw())

        d.obs._rss_raw = counting
        d.start()
        step = fx.definition("tiny", 1)
        for _ in range(20):
            d.step(fx.FakeStep("tiny", match=step), 0.25, grow_mb=0.5)  # 20 x 0.25 ms
        d.finish()
        assert reads["n"] == 5  # steps 1, 5, 9, 13, 17: one reading per millisecond
        (row,) = d.record.step_definitions
        assert row.rss_delta_mb == 8.5  # 17 steps' growth; the last 3 steps' is not seen yet
        assert d.record.memory.end_mb - d.record.memory.start_mb == 8.5


class TestAttribution:
    """Parts add up to the wall time and land in the right buckets."""

    def test_parts_sum_to_wall(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start(before_all_ms=100, modules=[("steps/x.py", 50_000_000)])
        _suite(d, fx)
        d.clock.advance_ms(4)  # behave's own time between things
        d.finish(after_all_ms=7)
        att = d.record.attribution
        parts = {p.name: p.ms for p in att.parts}
        # process started 500 ms before the anchor; everything after is fake-clock time
        assert att.wall_ms == 500 + 100 + 102 + 20 + 4 + 6 + 4 + 7
        assert att.parts_total_ms == att.wall_ms
        assert parts["startup"] == 450.0  # 500 ms before the anchor minus 50 ms modules
        assert parts["step_modules"] == 50.0
        assert parts["before_all"] == 100.0
        assert parts["after_all"] == 7.0
        assert parts["step_bodies"] == 102.0
        assert parts["hook:after_step"] == 20.0
        assert parts["hook:before_scenario"] == 4.0
        assert parts["hook:after_scenario"] == 6.0
        assert parts["behave_other"] == 4.0

    def test_own_overhead_is_its_own_bucket(self, make_observer: Any, clock: Any, fx: Any) -> None:
        """A clock that ticks on every read: callback time goes to qhub_overhead only."""
        d = make_observer()
        d.start()
        ticks = {"n": 0}
        base = clock.now

        def ticking() -> int:
            ticks["n"] += 1
            return base + ticks["n"] * 1000  # 1 µs per read

        d.obs._clock = ticking
        d.obs.profiler._clock = ticking
        d.clock = type(
            "C", (), {"__call__": lambda self: ticking(), "advance_ms": lambda self, ms: None}
        )()
        for i in range(50):
            d.step(fx.FakeStep(f"s{i}", match=fx.definition("s", 1)), 0)
        d.finish()
        att = d.record.attribution
        assert att.ms("qhub_overhead") > 0
        assert att.parts_total_ms == att.wall_ms


class TestFinish:
    """History, reports and idempotence."""

    def test_writes_reports_and_history_once(
        self, make_observer: Any, tmp_path: Path, fx: Any
    ) -> None:
        d = make_observer(**{"report.formats": ["json", "html", "markdown", "prometheus"]})
        d.start()
        _suite(d, fx)
        written = d.finish()
        assert sorted(p.name for p in written) == [
            "qhub-metrics.prom",
            "qhub-report.html",
            "qhub-report.json",
            "qhub-report.md",
        ]
        assert d.obs.finish({}) == written  # second call: no-op, same paths
        with open_history(d.obs.config, readonly=True) as history:
            runs = history.runs()
            assert len(runs) == 1
            assert runs[0].id == d.record.run.id
            assert history.parts(runs[0].id) == [d.record]
        report = json.loads((tmp_path / "reports/qhub-report.json").read_text())
        assert report["schema"] == "qhub.profile/2"
        assert report["run"]["tags"] == ["@fast"]
        assert report["run"]["status"] == "passed"
        assert report["stats"]["cache"]["hit_rate_percent"] == 75.0
        assert report["analysis"]["state"] == "no baseline"

    def test_summary_is_short_and_ends_with_html_line(
        self, make_observer: Any, capsys: Any, monkeypatch: Any, fx: Any
    ) -> None:
        import sys

        d = make_observer(**{"report.summary": True, "report.formats": ["json", "html"]})
        monkeypatch.setattr(sys, "__stdout__", sys.stdout)
        d.start()
        _suite(d, fx)
        d.finish()
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[-1].startswith("qhub: HTML report: ")
        assert lines[-1].endswith("qhub-report.html")
        assert len(lines) <= 15
        text = "\n".join(lines)
        assert "slowest step definitions (total time)" in text
        assert "no baseline: nothing compared" in text
        assert "cache: 75.0% hits (3 hits, 1 misses)" in text
        assert "Slowest step definitions by mean" not in text  # full tables only when verbose

    def test_summary_verbose_has_full_tables(self, make_observer: Any, fx: Any) -> None:
        d = make_observer(**{"report.summary": True, "report.verbose": True})
        d.start()
        _suite(d, fx)
        d.obs.finish({}, defer_summary=True)
        text = d.obs.summary_text()
        assert text is not None
        assert "Slowest step definitions by mean" in text
        assert "Hooks:" in text

    def test_history_unusable_still_writes_reports(
        self, make_observer: Any, tmp_path: Path, capfd: Any, fx: Any
    ) -> None:
        (tmp_path / "blocker").write_text("a file where a folder is needed")
        d = make_observer(**{"profiling.history_db": "blocker/history.db"})
        d.start()
        _suite(d, fx)
        written = d.finish()
        assert [p.name for p in written] == ["qhub-report.json"]
        err = capfd.readouterr().err.splitlines()
        warnings = [line for line in err if line.startswith("qhub: warning:")]
        assert len(warnings) == 1, err
        assert "this run is not recorded (the reports are still written)" in warnings[0]
        report = json.loads(written[0].read_text())
        assert any("not recorded" in n for n in report["notes"])

    def test_interrupted_run(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        scenario = fx.FakeScenario("cut short", "features/a.feature:3")
        d.begin("scenario", scenario)
        d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
        d.obs.finish({})  # at interpreter exit, mid-scenario: no after_all
        assert d.record.run.status == "interrupted"

    def test_mark_interrupted_says_how(self, make_observer: Any, fx: Any) -> None:
        for how, expected in (("sigterm", "sigterm"), ("sighup", "sighup"), ("odd", "interrupted")):
            d = make_observer()
            d.start()
            d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
            d.obs.mark_interrupted(how)
            d.finish()
            assert d.record.run.status == expected

    def test_disabled_profiling_writes_nothing(
        self, make_observer: Any, tmp_path: Path, fx: Any
    ) -> None:
        d = make_observer(**{"profiling.enabled": False})
        d.start()
        assert d.finish() == []
        assert not (tmp_path / "reports").exists()
        assert not (tmp_path / ".qhub").exists()

    def test_bad_compare_expression_refused_at_start(self, tmp_path: Path) -> None:
        import pytest

        from qhub.config import load_config
        from qhub.exceptions import ConfigError
        from qhub.profiling.observer import BehaveObserver

        config = load_config(tmp_path, environ={}, overrides={"profiling.compare": ["avg:3x"]})
        with pytest.raises(ConfigError, match=r"^profiling.compare: bad threshold 'avg:3x'"):
            BehaveObserver(config)
