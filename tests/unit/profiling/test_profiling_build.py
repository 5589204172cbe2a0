"""The record builder from a hand-made capture (no collector), and merging records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qhub.profiling.build import build_record
from qhub.profiling.capture import HookCall, RunCapture, Span, StepTimings
from qhub.profiling.merge import merge_records
from qhub.profiling.record import RunMeta, ScenarioOutcome, Totals

MS = 1_000_000
T0 = 10_000 * MS


@dataclass
class Status:
    name: str


@dataclass
class Step:
    name: str
    status: Status = field(default_factory=lambda: Status("passed"))
    keyword: str = "Given"
    step_type: str = "given"
    match: Any = None
    location: str = "features/a.feature:4"
    exception: Any = None


@dataclass
class Scenario:
    name: str
    location: str
    status: Status
    all_steps: list[Any]

    @property
    def steps(self) -> list[Any]:
        return self.all_steps


@dataclass
class Feature:
    scenarios: list[Any]
    status: Status = field(default_factory=lambda: Status("passed"))
    name: str = "F"
    location: str = "features/a.feature:1"

    def walk_scenarios(self) -> list[Any]:
        return self.scenarios


@dataclass
class Match:
    func: Any
    location: str
    pattern: str


def login(context: Any) -> None:
    """A step function (its qualname is what renames are found by)."""


def _capture() -> RunCapture:
    """install() inside before_all, one passed and one failed scenario, one skipped."""
    match = Match(login, "features/steps/auth.py:12", "I log in as {user}")
    ok = Step("I log in as alice", match=match)
    bad = Step("I log in as bob", Status("failed"), match=match,
               exception=AssertionError("expected 200, got 500\nmore detail"))  # fmt: skip
    skipped = Step("I log in as carol", Status("skipped"), match=match)
    s_ok = Scenario("ok", "features/a.feature:3", Status("passed"), [ok])
    s_bad = Scenario("bad", "features/a.feature:6", Status("failed"), [bad])
    s_skip = Scenario("skip", "features/a.feature:9", Status("skipped"), [skipped])
    feature = Feature([s_ok, s_bad, s_skip], Status("failed"))
    return RunCapture(
        clock_anchor=(T0, T0),
        finished_ns=T0 + 400 * MS,
        process_start_ns=T0 - 100 * MS,
        run_started_span=(T0 + 5 * MS, T0 + 10 * MS),
        phases={"qhub_install": 5 * MS},
        steps=StepTimings(
            steps=(ok, bad), starts=(T0 + 100 * MS, T0 + 200 * MS),
            ends=(T0 + 130 * MS, T0 + 250 * MS), rss_before=(10 * 2**20, 11 * 2**20),
            rss_after=(11 * 2**20, 11 * 2**20), peaks=(0, 0), depths=(0, 0),
        ),
        scenarios=(
            Span(s_ok, T0 + 90 * MS, T0 + 140 * MS, 10 * 2**20, 11 * 2**20, 1, feature),
            Span(s_bad, T0 + 190 * MS, T0 + 260 * MS, 11 * 2**20, 11 * 2**20, 2, feature),
        ),
        hooks=(HookCall("before_all", T0, T0 + 50 * MS, False, 0),),
        memory_enabled=True,
        model_features=(feature,),
    )  # fmt: skip


def test_builder_from_a_hand_made_capture() -> None:
    record = build_record(_capture(), RunMeta(id="r", part="r"))
    (row,) = record.step_definitions
    assert row.key == "features/steps/auth.py::given::I log in as {user}"
    assert (row.location, row.function, row.count, row.total_ms) == (
        "features/steps/auth.py:12", "login", 2, 80.0
    )  # fmt: skip
    assert row.statuses == {"passed": 1, "failed": 1}
    # behave's own totals: the skipped scenario and step count too
    totals = record.totals
    assert (totals.scenarios, totals.steps, totals.source) == (3, 3, "behave model")
    assert totals.scenarios_by_status == {"passed": 1, "failed": 1, "skipped": 1}
    assert totals.steps_by_status == {"passed": 1, "failed": 1, "skipped": 1}
    assert record.run.status == "failed"
    bad = record.scenarios[1]
    assert bad.error == "AssertionError: expected 200, got 500"
    assert bad.failed_step == "Given I log in as bob (features/a.feature:4)"
    # qhub's 10 ms set-up inside before_all is charged to qhub, not to the user's hook
    (hook,) = record.hooks
    assert (hook.hook, hook.total_ms) == ("before_all", 40.0)
    parts = {p.name: p.ms for p in record.attribution.parts}
    assert (parts["before_all"], parts["qhub_setup"]) == (40.0, 10.0)
    assert record.attribution.wall_ms == 500.0
    assert record.memory.peak_mb == 11.0


def test_outcomes_kept_only_for_parts_of_shared_runs() -> None:
    own = build_record(_capture(), RunMeta(id="r", part="r"))
    shared = build_record(_capture(), RunMeta(id="bx", part="p1", group_source="behavex"))
    assert own.totals.outcomes == ()
    assert [o.status for o in shared.totals.outcomes] == ["passed", "failed", "skipped"]
    assert shared.totals.feature_outcomes == {"features/a.feature": "failed"}


def test_merging_parts_counts_each_scenario_once(record_factory: Any) -> None:
    """behavex: each worker sees the whole feature, runs one scenario, skips the other."""

    def part(name: str, ran: str) -> Any:
        other = "b" if ran == "a" else "a"
        totals = Totals(
            features=1, features_by_status={"passed": 1}, scenarios=2,
            scenarios_by_status={"passed": 1, "skipped": 1}, steps=4,
            steps_by_status={"passed": 2, "skipped": 2},
            outcomes=(ScenarioOutcome(ran, "passed", {"passed": 2}),
                      ScenarioOutcome(other, "skipped", {"skipped": 2})),
            feature_outcomes={"f.feature": "passed"},
        )  # fmt: skip
        return record_factory("bx", name, [1.0], worker=name).replace(totals=totals)

    merged = merge_records([part("w0", "a"), part("w1", "b")])
    totals = merged.totals
    assert (totals.features, totals.scenarios, totals.steps) == (1, 2, 4)
    assert totals.scenarios_by_status == {"passed": 2}
    assert (merged.run.workers, merged.run.parts, merged.run.pooled) == (2, ("w0", "w1"), False)
    assert merged.attribution.measured_from.endswith("summed over 2 workers (worker time)")


def test_pooling_runs_adds_up_and_says_so(record_factory: Any) -> None:
    a = record_factory("r1", samples=[1.0, 3.0])
    b = record_factory("r2", samples=[5.0], status="failed")
    pooled = merge_records([a, b], pooled=True)
    (row,) = pooled.step_definitions
    assert (row.count, row.total_ms, row.samples_ms, row.p50_ms) == (3, 9.0, (1.0, 3.0, 5.0), 3.0)
    assert pooled.run.pooled and pooled.run.pooled_runs == ("r1", "r2")
    assert (pooled.run.status, pooled.run.wall_ms) == ("failed", 200.0)
    assert pooled.totals.scenarios == 2
