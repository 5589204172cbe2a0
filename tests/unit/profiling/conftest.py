"""Fakes for profiler tests: a manual clock, fake RSS, and behave-like model objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qhub.config import load_config
from qhub.profiling.observer import BehaveObserver


class FakeClock:
    """A perf_counter_ns stand-in that only moves when told to."""

    def __init__(self, start: int = 1_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> int:
        self.now += int(ms * 1_000_000)
        return self.now


class FakeRss:
    """RSS in bytes, set by the test."""

    def __init__(self, mb: float = 100.0) -> None:
        self.bytes = int(mb * 1024 * 1024)

    def __call__(self) -> int:
        return self.bytes

    def grow_mb(self, mb: float) -> None:
        self.bytes += int(mb * 1024 * 1024)


@dataclass
class FakeMatch:
    func: Any
    location: str
    pattern: str = ""


@dataclass
class FakeStep:
    name: str
    keyword: str = "Given"
    step_type: str = "given"
    match: Any = None
    status: str = "passed"
    location: str = "features/a.feature:3"


@dataclass
class FakeScenario:
    name: str
    location: str
    status: str = "passed"
    steps: list[Any] = field(default_factory=list)


@dataclass
class FakeFeature:
    name: str = "Feature A"
    location: str = "features/a.feature:1"
    status: str = "passed"


def definition(
    name: str, line: int, pattern: str | None = None, file: str = "steps/x.py"
) -> FakeMatch:
    """A fake step definition: a distinct function at ``file:line`` (default steps/x.py)."""

    def func(context: Any) -> None:
        return None

    func.__name__ = name
    func.__qualname__ = name
    return FakeMatch(func=func, location=f"{file}:{line}", pattern=pattern or name)


class Driver:
    """Drives a BehaveObserver the way the integration would, on a fake clock."""

    def __init__(self, observer: BehaveObserver, clock: FakeClock, rss: FakeRss) -> None:
        self.obs, self.clock, self.rss = observer, clock, rss
        self.feature: FakeFeature | None = None

    def start(
        self, before_all_ms: float = 0.0, modules: list[tuple[str, int]] | None = None
    ) -> None:
        anchor_perf = self.clock()
        self.obs.run_started(
            clock_anchor=(10_000_000_000_000, anchor_perf),
            step_modules=modules or [],
            phases={},
            meta={
                "mode": "runner",
                "tags": ["@fast"],
                "names": [],
                "paths": ["features"],
                "argv": ["--tags", "@fast"],
                "worker_id": None,
                "dry_run": False,
            },
        )
        start = self.clock()
        self.clock.advance_ms(before_all_ms)
        self.obs.on_hook("before_all", None, start, self.clock(), False)

    def hook(self, name: str, target: Any, ms: float = 0.0) -> None:
        start = self.clock()
        self.clock.advance_ms(ms)
        self.obs.on_hook(name, target, start, self.clock(), False)

    def begin(self, kind: str, target: Any, hook_ms: float = 0.0) -> None:
        self.hook(f"before_{kind}", target, hook_ms)
        self.obs.on_start(kind, target, self.clock())

    def end(self, kind: str, target: Any, hook_ms: float = 0.0) -> None:
        self.obs.on_end(kind, target, self.clock())
        self.hook(f"after_{kind}", target, hook_ms)

    def step(
        self, step: FakeStep, ms: float, grow_mb: float = 0.0, after_hook_ms: float = 0.0
    ) -> None:
        self.begin("step", step)
        self.clock.advance_ms(ms)
        self.rss.grow_mb(grow_mb)
        self.end("step", step, after_hook_ms)

    def finish(self, after_all_ms: float = 0.0, features: Any = None) -> list[Path]:
        self.hook("after_all", None, after_all_ms)
        return self.obs.finish(
            {"cache": {"hits": 3, "misses": 1, "hit_rate_percent": 75.0}}, features=features
        )

    @property
    def record(self) -> Any:
        """This run's frozen record (after :meth:`finish`)."""
        assert self.obs.outcome is not None, "finish() produced nothing"
        return self.obs.outcome.record

    @property
    def report(self) -> Any:
        assert self.obs.outcome is not None and self.obs.outcome.report is not None
        return self.obs.outcome.report


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rss() -> FakeRss:
    return FakeRss()


@pytest.fixture
def make_observer(tmp_path: Path, clock: FakeClock, rss: FakeRss) -> Any:
    """``make_observer(**overrides)`` -> Driver around a BehaveObserver on the fake clock."""

    def make(**overrides: Any) -> Driver:
        settings = {"report.summary": False, "report.formats": ["json"], **overrides}
        config = load_config(tmp_path, environ={}, overrides=settings)
        # process started 500 ms before the clock anchor (wall 10_000 s)
        observer = BehaveObserver(
            config, clock=clock, rss=rss, process_start_ns=10_000_000_000_000 - 500_000_000
        )
        return Driver(observer, clock, rss)

    return make


@pytest.fixture
def fx() -> Any:
    """The fake behave model classes (test modules cannot import conftest directly)."""
    import types

    return types.SimpleNamespace(
        FakeStep=FakeStep,
        FakeScenario=FakeScenario,
        FakeFeature=FakeFeature,
        definition=definition,
        FakeClock=FakeClock,
        FakeRss=FakeRss,
        Driver=Driver,
    )


def make_record(
    run_id: str = "run-1",
    part: str | None = None,
    samples: list[float] | None = None,
    *,
    status: str = "passed",
    worker: str | None = None,
    pattern: str = "a",
    scenario_ms: float | None = None,
    finished_at: str = "2026-01-01T00:00:00Z",
    **meta: Any,
) -> Any:
    """A hand-made RunRecord: one step definition, one scenario (no collector involved)."""
    from qhub.profiling.record import (
        Attribution,
        Memory,
        Part,
        RunMeta,
        RunRecord,
        ScenarioRow,
        StepDefinitionRow,
        TextFigures,
        Totals,
    )

    samples = samples if samples is not None else [1.0, 2.0, 3.0]
    total = round(sum(samples), 3)
    ordered = sorted(samples)
    row = StepDefinitionRow(
        key=f"steps/a.py::given::{pattern}", location="steps/a.py:1", file="steps/a.py", line=1,
        step_type="given", pattern=pattern, function=pattern, count=len(samples), nested_calls=0,
        total_ms=total, mean_ms=round(total / len(samples), 3) if samples else 0.0,
        min_ms=ordered[0] if samples else 0.0, p50_ms=ordered[len(ordered) // 2] if samples else 0,
        p95_ms=ordered[-1] if samples else 0.0, max_ms=ordered[-1] if samples else 0.0,
        statuses={"passed": len(samples)}, rss_delta_mb=0.0, tracemalloc_peak_kb=0.0,
        texts=(TextFigures(f"Given {pattern}", len(samples), total, 1.0, max(samples or [0])),),
        samples_ms=tuple(samples),
    )  # fmt: skip
    scenario = ScenarioRow(
        key="features/a.feature::s", location="features/a.feature:3", file="features/a.feature",
        line=3, name="s", feature="F", status="failed" if status == "failed" else "passed",
        duration_ms=scenario_ms if scenario_ms is not None else total, hooks_ms=0.0, steps=1,
        rss_start_mb=10.0, rss_end_mb=10.0, rss_delta_mb=0.0,
        error="AssertionError: boom" if status == "failed" else None, worker=worker,
    )  # fmt: skip
    return RunRecord(
        run=RunMeta(
            id=run_id,
            part=part or run_id,
            worker_id=worker,
            status=status,
            wall_ms=100.0,
            finished_at=finished_at,
            host="h",
            python="3.11.7",
            qhub_version="0.1",
            **meta,
        ),
        totals=Totals(
            features=1,
            features_by_status={"passed": 1},
            scenarios=1,
            scenarios_by_status={scenario.status: 1},
            steps=len(samples),
            steps_by_status={"passed": len(samples)},
            step_definitions=1,
        ),
        attribution=Attribution(
            100.0,
            100.0,
            "process start",
            "given",
            (
                Part("step_bodies", "step bodies", total, total),
                Part("behave_other", "behave", 100.0 - total, 100.0 - total),
            ),
        ),
        step_definitions=(row,),
        scenarios=(scenario,),
        features=(),
        hooks=(),
        step_modules=(),
        methods=(),
        memory=Memory(),
        stats={},
    )


@pytest.fixture
def record_factory() -> Any:
    """``record_factory(run_id, part, samples, status=..., ...)`` -> a hand-made RunRecord."""
    return make_record
