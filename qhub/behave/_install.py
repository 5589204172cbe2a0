"""``install(context)``: resolve config, put qhub's tools on the context, wrap the hooks.

Set-up is kept to what every run needs (configuration and the profiler); ``context.api``,
``context.cache`` and ``context.data`` are built when a step first reads them, and that
time is charged to qhub (:mod:`qhub._overhead`). Where the summary goes is decided here:
before behave's own summary (so behave's list of failing scenarios stays the last thing a
reader sees), on stdout, or on stderr when stdout carries machine-readable output
(``-f json``, ``-f json.pretty -o -``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from qhub._overhead import charged
from qhub.behave._hooks import instrument_runner
from qhub.behave._loading import before_all_started_ns, step_module_timings
from qhub.behave._signals import catch_termination
from qhub.behave.session import MissingAPI, QHubSession
from qhub.exceptions import QHubError

HUMAN_FORMATS = frozenset(
    {
        "pretty",
        "plain",
        "progress",
        "progress2",
        "progress3",
        "null",
        "steps",
        "steps.doc",
        "steps.usage",
        "steps.catalog",
        "steps.code",
        "tags",
        "tags.location",
        "sphinx.steps",
        "bad_steps",
    }
)
"""behave formatters whose stdout is for people; anything else on stdout may be parsed."""


def _meta(context: Any, mode: str) -> dict[str, Any]:
    config = context.config
    tags = getattr(config, "tags", None)
    return {
        "mode": mode,
        "tags": _tag_list(tags),
        "names": list(getattr(config, "name", None) or []),
        "paths": [str(p) for p in (getattr(config, "paths", None) or [])],
        "argv": list(sys.argv[1:]),
        "worker_id": os.environ.get("QHUB_WORKER_ID"),
        "dry_run": bool(getattr(config, "dry_run", False)),
    }


def _tag_list(tags: Any) -> list[str]:
    """The tag expressions of the run as strings (behave 1.2.6 keeps a list of lists)."""
    if not tags:
        return []
    if isinstance(tags, str):
        return [tags]
    found: list[str] = []
    for item in getattr(tags, "ands", None) or (tags if isinstance(tags, list) else [tags]):
        if isinstance(item, (list, tuple)):
            found.append(" or ".join(str(part) for part in item))
        else:
            found.append(str(item))
    return found


class _PendingTool:
    """Placeholder in behave's root frame for a tool that is built on first read."""

    __slots__ = ("build", "name")

    def __init__(self, name: str, build: Callable[[], Any]) -> None:
        self.name = name
        self.build = build


class _LazyRootFrame(dict[str, Any]):
    """behave's root context frame, with qhub's tools built on first read.

    behave looks context attributes up with ``attr in frame`` then ``frame[attr]`` (1.2.6
    and 1.3 alike), so a frame that resolves a placeholder on ``[]`` makes ``context.api``
    cost nothing until a step uses it. Setting the attribute replaces the placeholder.
    """

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, _PendingTool):
            with charged(f"context.{key}"):
                built = value.build()
            if super().get(key) is value:
                super().__setitem__(key, built)
            return built
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        return self[key]


def _publish(context: Any, session: QHubSession) -> None:
    """Put qhub's tools on the context: built now if the frame cannot defer them."""
    tools: dict[str, Callable[[], Any]] = {
        "api": lambda: session.default_api,
        "cache": lambda: session.cache,
        "data": lambda: session.data,
    }
    context.qhub = session
    context.profiler = session.profiler
    frame = _lazy_root(context)
    if frame is None:
        for name, build in tools.items():
            setattr(context, name, build())
        return
    for name, build in tools.items():
        dict.__setitem__(frame, name, _PendingTool(name, build))


def _lazy_root(context: Any) -> _LazyRootFrame | None:
    """Swap behave's root frame for a :class:`_LazyRootFrame` (``None`` if its layout is
    not the one behave 1.2.6-1.3 use)."""
    state = getattr(context, "__dict__", {})
    root, stack = state.get("_root"), state.get("_stack")
    if isinstance(root, _LazyRootFrame):
        return root
    if type(root) is not dict or not isinstance(stack, list):
        return None
    positions = [i for i, frame in enumerate(stack) if frame is root]
    if len(positions) != 1:
        return None
    lazy = _LazyRootFrame(root)
    state["_root"] = lazy
    stack[positions[0]] = lazy
    return lazy


def summary_stream(config: Any) -> TextIO:
    """stdout, unless a formatter that is not for people writes to stdout (then stderr)."""
    stdout = sys.__stdout__ or sys.stdout
    formats = list(getattr(config, "format", None) or [])
    if not formats:
        formats = [getattr(config, "default_format", None) or "pretty"]
    outputs = list(getattr(config, "outputs", None) or [])
    for index, name in enumerate(formats):
        opener = outputs[index] if index < len(outputs) else None
        to_stdout = opener is None or getattr(opener, "name", None) in (None, "-")
        if to_stdout and str(name) not in HUMAN_FORMATS:
            return sys.__stderr__ or sys.stderr
    return stdout


class _SummaryReporter:
    """A behave reporter that prints qhub's summary just before behave's own summary.

    behave calls reporters after ``after_all`` (where qhub writes its reports), in list
    order; this one is put first, so behave's "Failing scenarios" and totals come last.
    """

    def __init__(self, session: QHubSession, stream: TextIO) -> None:
        self._session = session
        self._stream = stream

    def feature(self, feature: Any) -> None:
        """Nothing to do per feature."""

    def end(self) -> None:
        if self._stream is not (sys.__stdout__ or sys.stdout):
            _flush(sys.stdout)
        self._session.print_summary(self._stream)


def _flush(stream: TextIO) -> None:
    with contextlib.suppress(OSError, ValueError):
        stream.flush()


def install(
    context: Any,
    overrides: Mapping[str, Any] | None = None,
    *,
    _mode: str = "install",
    _phases: Mapping[str, int] | None = None,
) -> QHubSession:
    """Turn qhub on for this behave run; call it from ``before_all``.

    Puts ``context.qhub``, ``context.api``, ``context.cache``, ``context.data`` and
    ``context.profiler`` on the context, and wraps the hooks so every step, scenario,
    feature and hook is timed while the user's own hooks keep running unchanged.
    ``overrides`` are settings with the highest precedence, e.g.
    ``{"api.base_url": server.url}``. Calling it again only applies new overrides.
    """
    existing = getattr(context, "qhub", None)
    if isinstance(existing, QHubSession):
        if overrides:
            existing.apply_overrides(overrides)
            _publish(context, existing)
        return existing
    started = time.perf_counter_ns()
    anchor = (time.time_ns(), started)
    try:
        session = QHubSession.start(dict(context.config.userdata or {}), overrides)
    except QHubError as exc:
        print(f"qhub: error: {exc}", file=sys.stderr)
        raise
    _publish(context, session)
    reporters = getattr(context.config, "reporters", None)
    stream = summary_stream(context.config)
    if isinstance(reporters, list):
        reporters.insert(0, _SummaryReporter(session, stream))
        session.defer_summary = True
    runner = context._runner
    session.features = lambda: getattr(runner, "features", None) or []
    catch_termination(session, runner)
    # with install() the user's before_all is running: its span runs from when behave
    # started it to the first feature; qhub's set-up inside it is the qhub_install phase,
    # which the profiler takes out of the user's hook
    hook_started = before_all_started_ns(runner) if _mode == "install" else None
    instrument_runner(
        runner,
        session.observer,
        session.close,
        before_all_started_ns=None if _mode != "install" else min(hook_started or started, started),
    )
    atexit.register(session.print_summary, stream)
    atexit.register(session.close)
    if session.observer is not None:
        phases = dict(_phases or {})
        phases["qhub_install"] = time.perf_counter_ns() - started
        session.observer.run_started(
            clock_anchor=anchor,
            step_modules=step_module_timings(),
            phases=phases,
            meta=_meta(context, _mode),
        )
    return session


__all__ = ["MissingAPI", "install", "summary_stream"]
