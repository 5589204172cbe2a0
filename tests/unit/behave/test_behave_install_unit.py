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
    """qhub's own set-up is never part of the user's before_all."""

    def test_before_all_span_starts_after_qhub_set_up(
        self, context: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        spans: list[tuple[str, int, int]] = []
        original_on_hook = BehaveObserver.on_hook

        def spy(self: BehaveObserver, hook: str, *args: Any) -> None:
            spans.append((hook, args[1], args[2]))  # (target, start, end, failed)
            original_on_hook(self, hook, *args)

        monkeypatch.setattr(BehaveObserver, "on_hook", spy)
        built_at: list[int] = []
        original_start = QHubSession.start.__func__  # type: ignore[attr-defined]

        def timed_start(cls: type[QHubSession], *args: Any, **kwargs: Any) -> QHubSession:
            session = original_start(cls, *args, **kwargs)
            built_at.append(time.perf_counter_ns())
            return session

        monkeypatch.setattr(QHubSession, "start", classmethod(timed_start))
        install(context, overrides=OVERRIDES)
        _dispatch(context, "before_feature", _Feature())
        before_all = [s for s in spans if s[0] == "before_all"]
        assert len(before_all) == 1
        assert before_all[0][1] >= built_at[0]
