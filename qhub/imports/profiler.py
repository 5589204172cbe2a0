"""Record which imports a block of code caused and what each cost.

A meta-path finder placed first on ``sys.meta_path`` wraps the loader of every module
imported for the first time, timing ``exec_module`` (cumulative) and subtracting nested
imports (self). Already-imported modules cost nothing and are not recorded.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ImportRecord:
    """One module executed while a profile was active."""

    module: str
    cumulative_s: float
    self_s: float
    depth: int
    parent: str | None
    error: str | None = None


@dataclass
class ImportProfile:
    """Imports recorded during one profiled block."""

    name: str = "block"
    records: list[ImportRecord] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def total_import_time(self) -> float:
        """Seconds spent importing (sum of top-level imports' cumulative time)."""
        return sum(r.cumulative_s for r in self.records if r.depth == 0)

    def modules(self) -> list[str]:
        return [r.module for r in self.records]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "total_import_time": self.total_import_time,
            "wall_s": self.wall_s,
            "imports": [
                {"module": r.module, "cumulative_ms": r.cumulative_s * 1000,
                 "self_ms": r.self_s * 1000, "depth": r.depth, "parent": r.parent,
                 "error": r.error}
                for r in self.records
            ],
        }


class _TimedLoader(importlib.abc.Loader):
    """Delegates to the real loader, timing ``exec_module``."""

    def __init__(self, loader: Any, recorder: _Recorder) -> None:
        self._loader = loader
        self._recorder = recorder

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: types.ModuleType) -> None:
        self._recorder.run(module.__name__, self._loader, module)


class _Recorder(importlib.abc.MetaPathFinder):
    """The finder: installed while at least one profile is active."""

    def __init__(self) -> None:
        self.profiles: list[ImportProfile] = []
        self.local = threading.local()
        self.lock = threading.Lock()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if getattr(self.local, "finding", False):
            return None
        self.local.finding = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec: importlib.machinery.ModuleSpec | None = finder.find_spec(
                    fullname, path, target
                )
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _TimedLoader(spec.loader, self)
                    return spec
            return None
        finally:
            self.local.finding = False

    def run(self, name: str, loader: Any, module: types.ModuleType) -> None:
        stack: list[list[Any]] = self.local.__dict__.setdefault("stack", [])
        parent = stack[-1][0] if stack else None
        stack.append([name, 0.0])
        started = time.perf_counter()
        error: str | None = None
        try:
            loader.exec_module(module)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            elapsed = time.perf_counter() - started
            children = float(stack.pop()[1])
            if stack:
                stack[-1][1] += elapsed
            record = ImportRecord(name, elapsed, max(0.0, elapsed - children), len(stack),
                                  parent, error)
            with self.lock:
                for profile in self.profiles:
                    profile.records.append(record)

    def attach(self, profile: ImportProfile) -> None:
        with self.lock:
            self.profiles.append(profile)
            if self not in sys.meta_path:
                sys.meta_path.insert(0, self)

    def detach(self, profile: ImportProfile) -> None:
        with self.lock:
            if profile in self.profiles:
                self.profiles.remove(profile)
            if not self.profiles and self in sys.meta_path:
                sys.meta_path.remove(self)


RECORDER = _Recorder()
HISTORY: list[ImportProfile] = []
"""Profiles of decorated functions, newest last (read by ImportOptimizer reports)."""
_HISTORY_LIMIT = 100


class _ProfileImports:
    """``with profile_imports() as p:`` - or a decorator recording each call."""

    def __init__(self, name: str = "block") -> None:
        self.profile = ImportProfile(name)
        self._started = 0.0

    def __enter__(self) -> ImportProfile:
        self.profile = ImportProfile(self.profile.name)
        self._started = time.perf_counter()
        RECORDER.attach(self.profile)
        return self.profile

    def __exit__(self, *exc: object) -> None:
        RECORDER.detach(self.profile)
        self.profile.wall_s = time.perf_counter() - self._started

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            block = _ProfileImports(getattr(fn, "__qualname__", "function"))
            try:
                with block:
                    return fn(*args, **kwargs)
            finally:
                wrapper.import_profile = block.profile  # type: ignore[attr-defined]
                HISTORY.append(block.profile)
                del HISTORY[:-_HISTORY_LIMIT]

        wrapper.import_profile = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]


@overload
def profile_imports(fn: F) -> F: ...
@overload
def profile_imports(fn: None = None, *, name: str = "block") -> _ProfileImports: ...
def profile_imports(fn: F | None = None, *, name: str = "block") -> F | _ProfileImports:
    """Record the imports a function call (or ``with`` block) causes and their cost.

    ``@profile_imports`` stores the latest call's :class:`ImportProfile` on
    ``fn.import_profile``; ``with profile_imports() as p:`` yields one directly.
    """
    if fn is not None:
        return _ProfileImports(getattr(fn, "__qualname__", name))(fn)
    return _ProfileImports(name)
