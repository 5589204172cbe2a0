"""install() on a real behave Context, in-process: lazy tools, honest set-up attribution."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from behave.configuration import Configuration
from behave.runner import Context, Runner

from qhub._overhead import charged_parts
from qhub.behave import install
from qhub.behave.session import QHubSession
from qhub.exceptions import ConfigError
from qhub.profiling import BehaveObserver

pytestmark = pytest.mark.behave_matrix


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    config = Configuration(command_args=["--no-color"], load_config=False)
    runner = Runner(config)
    runner.context = ctx = Context(runner)
    yield ctx
    session = getattr(ctx, "qhub", None)
    if isinstance(session, QHubSession):
        session.close()


def _dispatch(context: Any, hook: str, target: object) -> None:
    runner = context._runner
    if hasattr(runner, "run_hook_with_capture"):  # behave 1.2.7+
        runner.run_hook_with_capture(hook, target)
    else:
        runner.run_hook(hook, context, target)


class _Feature:
    name = "F"
    tags: list[str] = []
    filename = "f.feature"


OVERRIDES = {"report.summary": False, "report.formats": ["json"], "report.dir": "r"}


class TestLazyTools:
    """context.cache/data/api are built when first read, and charged to qhub."""

    def test_cache_built_on_first_read_and_charged(self, context: Any) -> None:
        install(context, overrides=OVERRIDES)
        before = charged_parts().get("context.cache", 0)
        assert not Path(".qhub/cache.db").exists()
        cache = context.cache
        assert Path(".qhub/cache.db").exists()
        assert cache is context.cache
        cache.set("k", 1)
        assert cache.get("k") == 1
        assert charged_parts()["context.cache"] > before
        assert context.qhub.cache is cache

    def test_membership_does_not_build(self, context: Any) -> None:
        install(context, overrides=OVERRIDES)
        before = charged_parts().get("context.data", 0)
        assert "data" in context
        assert charged_parts().get("context.data", 0) == before

    def test_setting_the_attribute_replaces_the_tool(self, context: Any) -> None:
        install(context, overrides=OVERRIDES)
        before = charged_parts().get("context.cache", 0)
        context.cache = "mine"
        assert context.cache == "mine"
        assert charged_parts().get("context.cache", 0) == before
        assert not Path(".qhub/cache.db").exists()

    def test_missing_api_is_explained_on_use(self, context: Any) -> None:
        install(context, overrides=OVERRIDES)
        assert not context.api
        with pytest.raises(ConfigError, match=r"api\.base_url"):
            context.api.get("/x")


class TestSetUpAttribution:
    """The user's whole before_all is the user's hook; qhub's set-up inside it is qhub's."""

    def test_before_all_span_starts_when_behave_started_the_hook(
        self, context: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        spans: list[tuple[str, int, int]] = []
        phases: list[dict[str, int]] = []
        original_on_hook = BehaveObserver.on_hook
        original_run_started = BehaveObserver.run_started

        def spy(self: BehaveObserver, hook: str, *args: Any) -> None:
            spans.append((hook, args[1], args[2]))  # (target, start, end, failed)
            original_on_hook(self, hook, *args)

        def spy_started(self: BehaveObserver, **kwargs: Any) -> None:
            phases.append(dict(kwargs["phases"]))
            original_run_started(self, **kwargs)

        monkeypatch.setattr(BehaveObserver, "on_hook", spy)
        monkeypatch.setattr(BehaveObserver, "run_started", spy_started)
        runner = context._runner
        install_called: list[int] = []

        def user_before_all(ctx: Any) -> None:
            time.sleep(0.01)  # the user's own work before install()
            install_called.append(time.perf_counter_ns())
            install(ctx, overrides=OVERRIDES)

        runner.hooks["before_all"] = user_before_all
        hook_called = time.perf_counter_ns()
        if hasattr(runner, "run_hook_with_capture"):
            runner.run_hook("before_all")
        else:
            runner.run_hook("before_all", context)
        _dispatch(context, "before_feature", _Feature())
        before_all = [s for s in spans if s[0] == "before_all"]
        assert len(before_all) == 1
        hook_start, hook_end = before_all[0][1], before_all[0][2]
        assert hook_called <= hook_start < install_called[0]
        install_phase = phases[0]["qhub_install"]
        assert hook_end - hook_start >= install_phase  # qhub's set-up lies inside the span
