"""Step-definition hygiene across a suite: ambiguous patterns and definitions no step uses.

Patterns are compiled with behave's own step matchers and feature files are read with
behave's own Gherkin parser, so "ambiguous" means exactly what behave's ``AmbiguousStep``
means at load time, and "used" what its step matching does. Nothing user-written runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REGEX_META = set(".^$*+?{}[]\\|()")


_UNSET: Any = object()


@dataclass
class Definition:
    """A step definition found in a file, with the matcher behave would build for it."""

    path: str
    line: int
    keyword: str
    pattern: str
    matcher_name: str
    _matcher: Any = _UNSET

    @property
    def matcher(self) -> Any:
        """behave Matcher (compiled on first use), or None when its pattern needs types
        registered at run time or does not compile."""
        if self._matcher is _UNSET:
            self._matcher = _matcher(self)
        return self._matcher


def _dummy_step(context: Any) -> None:
    """Stand-in function for matchers (never called)."""


def _matcher(definition: Definition) -> Any:
    from behave.matchers import get_step_matcher_factory

    mapping = get_step_matcher_factory().step_matcher_class_mapping
    cls = mapping.get(definition.matcher_name)
    if cls is None:
        return None
    try:
        matcher = cls(_dummy_step, definition.pattern, definition.keyword)
    except Exception:
        return None
    return matcher


def _literal_prefix(pattern: str, matcher_name: str) -> str:
    out: list[str] = []
    if matcher_name.startswith("re"):
        text = pattern[1:] if pattern.startswith("^") else pattern
        for ch in text:
            if ch in _REGEX_META:
                break
            out.append(ch)
        return "".join(out)
    for ch in pattern:
        if ch in "{}":
            break
        out.append(ch)
    return "".join(out)


class _Index:
    """Definitions bucketed by literal prefix: a text is only tried on definitions whose
    literal prefix it starts with, which keeps matching near-linear on large suites."""

    def __init__(self) -> None:
        self.buckets: dict[str, list[Definition]] = {}
        self.lengths: set[int] = set()

    def add(self, d: Definition) -> None:
        prefix = _literal_prefix(d.pattern, d.matcher_name)
        self.buckets.setdefault(prefix, []).append(d)
        self.lengths.add(len(prefix))

    def candidates(self, text: str) -> list[Definition]:
        found: list[Definition] = []
        for n in sorted(self.lengths):
            if n > len(text):
                break
            found.extend(self.buckets.get(text[:n], ()))
        return found


def _matches(d: Definition, text: str) -> bool:
    if d.pattern == text:
        return True
    if d.matcher is None:
        return False
    try:
        return bool(d.matcher.matches(text))
    except Exception:
        return False


def compile_definitions(defs: Iterable[Definition]) -> list[Definition]:
    """The definitions as a list; matchers compile lazily, only when a match is tried."""
    return list(defs)


def find_ambiguous(defs: Sequence[Definition]) -> list[tuple[Definition, Definition]]:
    """(new, existing) pairs where behave would raise AmbiguousStep, in load order."""
    indexes: dict[str, _Index] = {}
    order: dict[int, int] = {}
    found: list[tuple[Definition, Definition]] = []
    for pos, d in enumerate(defs):
        index = indexes.setdefault(d.keyword, _Index())
        hits = [e for e in index.candidates(d.pattern) if _matches(e, d.pattern)]
        if hits:
            found.append((d, min(hits, key=lambda e: order[id(e)])))
            continue
        order[id(d)] = pos
        index.add(d)
    return found


@dataclass
class StepUse:
    step_type: str
    text: str


def feature_steps(features: Sequence[Path]) -> tuple[list[StepUse], list[str]]:
    """Every step of every scenario (outlines expanded, backgrounds included)."""
    from behave.parser import parse_file

    uses: list[StepUse] = []
    problems: list[str] = []
    for path in features:
        try:
            feature = parse_file(str(path))
        except Exception as exc:
            problems.append(f"{path}: feature file not parsed ({type(exc).__name__})")
            continue
        if feature is None:
            continue
        for scenario in feature.walk_scenarios(with_outlines=False, with_rules=True):
            for step in scenario.all_steps:
                uses.append(StepUse(step.step_type, step.name))
    return uses, problems


def executed_step_uses(texts: Iterable[str]) -> list[StepUse]:
    """Steps named in ``context.execute_steps('''...''')`` strings (English keywords)."""
    uses: list[StepUse] = []
    for text in texts:
        current = "given"
        for raw in text.splitlines():
            line = raw.strip()
            word, _, rest = line.partition(" ")
            kw = word.lower()
            if kw in ("given", "when", "then"):
                current = kw
            elif kw not in ("and", "but", "*"):
                continue
            if rest:
                uses.append(StepUse(current, rest.strip()))
    return uses


def find_unused(defs: Sequence[Definition], uses: Iterable[StepUse]) -> list[Definition]:
    """Definitions that no step matches (behave's order: own type first, then ``step``)."""
    registered = {k: _Index() for k in ("given", "when", "then", "step")}
    ambiguous = {id(new) for new, _old in find_ambiguous(defs)}
    for d in defs:
        if id(d) not in ambiguous:
            registered[d.keyword].add(d)
    used: set[int] = set()
    seen: set[tuple[str, str]] = set()
    for use in uses:
        key = (use.step_type, use.text)
        if key in seen:
            continue
        seen.add(key)
        for kind in (use.step_type, "step"):
            if kind not in registered:
                continue
            hit = next((d for d in registered[kind].candidates(use.text)
                        if _matches(d, use.text)), None)
            if hit is not None:
                used.add(id(hit))
                break
    return [d for d in defs if id(d) not in used and id(d) not in ambiguous
            and d.matcher is not None]


def find_features(folder: Path) -> list[Path]:
    """``*.feature`` files under ``folder`` (hidden folders and virtualenvs skipped)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d not in ("node_modules", "venv", "__pycache__")
        )
        found.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".feature"))
    return found
