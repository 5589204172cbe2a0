"""Wrap behave's hook table so qhub observes every hook and every step, scenario, feature.

The user's own hooks keep running, in the same order, with the same arguments; an
exception they raise propagates unchanged, so behave reports it exactly as without qhub.
qhub's bookkeeping happens in ``finally`` blocks around them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from time import perf_counter_ns
from typing import Any, Protocol

Hook = Callable[..., Any]

ENTITY_KINDS = ("feature", "rule", "scenario", "step")
TAG_HOOKS = ("before_tag", "after_tag")


class Observer(Protocol):
    """What the hook wrappers report to (implemented by the profiler)."""

    def on_hook(self, hook: str, target: Any, start_ns: int, end_ns: int, failed: bool) -> None:
        """A hook ran from ``start_ns`` to ``end_ns`` (perf_counter_ns)."""

    def on_start(self, kind: str, target: Any, ns: int) -> None:
        """The body of a feature/rule/scenario/step starts (its before-hook returned)."""

    def on_end(self, kind: str, target: Any, ns: int) -> None:
        """The body ended (its after-hook is about to start)."""


def _before(kind: str, user: Hook | None, observer: Observer) -> Hook:
    name = f"before_{kind}"
    on_hook, on_start = observer.on_hook, observer.on_start

    def hook(context: Any, target: Any) -> None:
        start = perf_counter_ns()
        failed = True
        try:
            if user is not None:
                user(context, target)
            failed = False
        finally:
            on_hook(name, target, start, perf_counter_ns(), failed)
            on_start(kind, target, perf_counter_ns())

    return _like(hook, user)


def _after(kind: str, user: Hook | None, observer: Observer) -> Hook:
    name = f"after_{kind}"
    on_hook, on_end = observer.on_hook, observer.on_end

    def hook(context: Any, target: Any) -> None:
        on_end(kind, target, perf_counter_ns())
        start = perf_counter_ns()
        failed = True
        try:
            if user is not None:
                user(context, target)
            failed = False
        finally:
            on_hook(name, target, start, perf_counter_ns(), failed)

    return _like(hook, user)


def _tag(name: str, user: Hook, observer: Observer) -> Hook:
    def hook(context: Any, tag: Any) -> None:
        start = perf_counter_ns()
        failed = True
        try:
            user(context, tag)
            failed = False
        finally:
            observer.on_hook(name, tag, start, perf_counter_ns(), failed)

    return _like(hook, user)


def _after_all(user: Hook | None, observer: Observer | None, shutdown: Callable[[], None]) -> Hook:
    def hook(context: Any) -> None:
        start = perf_counter_ns()
        failed = True
        try:
            if user is not None:
                user(context)
            failed = False
        finally:
            if observer is not None:
                observer.on_hook("after_all", None, start, perf_counter_ns(), failed)
            shutdown()

    return _like(hook, user)


def timed_before_all(user: Hook | None, observer_for: Callable[[], Observer | None]) -> Hook:
    """A before_all that reports its duration to the observer that exists once it returns."""

    def hook(context: Any) -> None:
        start = perf_counter_ns()
        failed = True
        try:
            if user is not None:
                user(context)
            failed = False
        finally:
            observer = observer_for()
            if observer is not None:
                observer.on_hook("before_all", None, start, perf_counter_ns(), failed)

    return _like(hook, user)


def _like(wrapper: Hook, user: Hook | None) -> Hook:
    """Give the wrapper the user's name, docstring and attributes (e.g. ``capture = False``)."""
    if user is not None:
        functools.update_wrapper(wrapper, user)
    wrapper.__qhub_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper


def wrap_hooks(
    hooks: MutableMapping[str, Hook],
    observer: Observer | None,
    shutdown: Callable[[], None],
) -> None:
    """Install qhub's wrappers into behave's hook table (``runner.hooks``), once."""
    existing = hooks.get("after_all")
    if existing is not None and getattr(existing, "__qhub_wrapped__", False):
        return
    if observer is not None:
        for kind in ENTITY_KINDS:
            hooks[f"before_{kind}"] = _before(kind, hooks.get(f"before_{kind}"), observer)
            hooks[f"after_{kind}"] = _after(kind, hooks.get(f"after_{kind}"), observer)
        for name in TAG_HOOKS:
            user = hooks.get(name)
            if user is not None:
                hooks[name] = _tag(name, user, observer)
    hooks["after_all"] = _after_all(hooks.get("after_all"), observer, shutdown)
