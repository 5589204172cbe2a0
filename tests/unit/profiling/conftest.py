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


def definition(name: str, line: int, pattern: str | None = None) -> FakeMatch:
    """A fake step definition: a distinct function with a steps/x.py:line location."""

    def func(context: Any) -> None:
        return None

    func.__name__ = name
    return FakeMatch(func=func, location=f"steps/x.py:{line}", pattern=pattern or name)


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

    def finish(self, after_all_ms: float = 0.0) -> list[Path]:
        self.hook("after_all", None, after_all_ms)
        return self.obs.finish({"cache": {"hits": 3, "misses": 1, "hit_rate_percent": 75.0}})


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
