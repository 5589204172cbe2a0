"""BehaveObserver driven with fake behave objects on a fake clock: exact figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qhub.profiling.profiler import profile_block


def _suite(d: Any, fx: Any) -> None:
    """One feature, two scenarios; 'wait' steps of 10/20/30/40 ms, 'check' steps of 1 ms."""
    wait, check = fx.definition("wait", 10), fx.definition("check", 20)
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
        doc = d.obs.document
        rows = {r["key"]: r for r in doc["step_definitions"]}
        wait = rows["steps/x.py:10"]
        assert (wait["count"], wait["total_ms"], wait["mean_ms"]) == (4, 100.0, 25.0)
        assert (wait["min_ms"], wait["p50_ms"], wait["max_ms"]) == (10.0, 25.0, 40.0)
        assert wait["p95_ms"] == 38.5  # linear interpolation between 30 and 40
        assert wait["samples_ms"] == [10.0, 20.0, 30.0, 40.0]
        assert [t["text"] for t in wait["texts"]] == [
            "When I wait 40 ms",
            "When I wait 30 ms",
            "When I wait 20 ms",
            "When I wait 10 ms",
        ]
        assert rows["steps/x.py:20"]["count"] == 2
        assert rows["steps/x.py:20"]["total_ms"] == 2.0
        assert doc["step_definitions"][0]["key"] == "steps/x.py:10"  # slowest total first

    def test_scenarios_hooks_and_totals(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        _suite(d, fx)
        d.finish()
        doc = d.obs.document
        s0, s1 = doc["scenarios"]
        # scenario body: its steps plus after_step hooks inside it
        assert s0["duration_ms"] == 10 + 20 + 1 + 5 * 2
        assert s0["hooks_ms"] == 2 + 10 + 3
        assert s1["duration_ms"] == 30 + 40 + 1 + 10
        hooks = {h["hook"]: h for h in doc["hooks"]}
        assert hooks["after_step"]["count"] == 6
        assert hooks["after_step"]["total_ms"] == 20.0
        assert hooks["before_scenario"]["total_ms"] == 4.0
        assert doc["totals"]["steps"] == 6
        assert doc["totals"]["scenarios"] == 2
        assert doc["totals"]["step_statuses"] == {"passed": 6}

    def test_profile_block_lands_in_report(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        with profile_block(d.obs.profiler, "login"):
            d.clock.advance_ms(12)
        d.finish()
        methods = {m["method"]: m for m in d.obs.document["methods"]}
        assert methods["login"]["count"] == 1
        assert methods["login"]["total_ms"] == 12.0

    def test_undefined_and_redacted_text(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        step = fx.FakeStep("I log in with token=hunter2", match=fx.definition("login", 3))
        d.step(step, 1)
        d.step(fx.FakeStep("nobody implemented me"), 1)
        d.finish()
        text = json.dumps(d.obs.document)
        assert "hunter2" not in text
        assert "token=<redacted>" in text
        assert "<undefined>" in {r["key"] for r in d.obs.document["step_definitions"]}


class TestAttribution:
    """Parts add up to the wall time and land in the right buckets."""

    def test_parts_sum_to_wall(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start(before_all_ms=100, modules=[("steps/x.py", 50_000_000)])
        _suite(d, fx)
        d.clock.advance_ms(4)  # behave's own time between things
        d.finish(after_all_ms=7)
        att = d.obs.document["attribution"]
        parts = {p["name"]: p["ms"] for p in att["parts"]}
        # process started 500 ms before the anchor; everything after is fake-clock time
        assert att["wall_ms"] == 500 + 100 + 102 + 20 + 4 + 6 + 4 + 7
        assert att["parts_total_ms"] == att["wall_ms"]
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
        att = d.obs.document["attribution"]
        parts = {p["name"]: p["ms"] for p in att["parts"]}
        assert parts["qhub_overhead"] > 0
        assert att["parts_total_ms"] == att["wall_ms"]


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
        from qhub.profiling.history import History

        with History(tmp_path / ".qhub/history.db") as history:
            assert len(history.runs()) == 1
        report = json.loads((tmp_path / "reports/qhub-report.json").read_text())
        assert report["schema"] == "qhub.profile/1"
        assert report["run"]["tags"] == ["@fast"]
        assert report["run"]["status"] == "passed"
        assert report["stats"]["cache"]["hit_rate_percent"] == 75.0

    def test_summary_ends_with_html_line(
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
        text = "\n".join(lines)
        assert "Slowest step definitions by total" in text
        assert "Slowest step definitions by mean" in text
        assert "cache hit rate 75.0%" in text

    def test_never_raises(self, make_observer: Any, tmp_path: Path, capfd: Any, fx: Any) -> None:
        (tmp_path / "blocker").write_text("a file where a folder is needed")
        d = make_observer(**{"profiling.history_db": "blocker/history.db"})
        d.start()
        _suite(d, fx)
        assert d.finish() == []
        lines = capfd.readouterr().err.splitlines()
        assert [ln for ln in lines if "profiling report failed" in ln] == [
            next(ln for ln in lines if ln.startswith("qhub: warning: profiling report failed: "))
        ]

    def test_interrupted_run(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        scenario = fx.FakeScenario("cut short", "features/a.feature:3")
        d.begin("scenario", scenario)
        d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
        d.obs.finish({})  # at interpreter exit, mid-scenario: no after_all
        assert d.obs.document["run"]["status"] == "interrupted"

    def test_disabled_profiling_writes_nothing(
        self, make_observer: Any, tmp_path: Path, fx: Any
    ) -> None:
        d = make_observer(**{"profiling.enabled": False})
        d.start()
        assert d.finish() == []
        assert not (tmp_path / "reports").exists()
