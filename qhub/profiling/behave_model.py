"""Reading names, identities, statuses and errors off behave model objects, tolerantly.

Everything here is called once per object (or per distinct step text) at the end of the
run, never in the hot path. Text that users wrote (step text, scenario names, patterns,
error messages) is redacted before it leaves this module. Works with behave 1.2.6 and 1.3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from qhub._record import frozen_record
from qhub._redact import redact_text
from qhub.profiling.identity import scenario_key, split_location, step_definition_key

UNDEFINED_FILE = "<undefined>"
MAX_ERROR_CHARS = 300


def status_name(target: Any) -> str:
    """``passed``, ``failed``, ``skipped``, ``undefined``, ... (``unknown`` if absent)."""
    status = getattr(target, "status", None)
    if status is None:
        return "unknown"
    return str(getattr(status, "name", status))


def location(target: Any) -> str:
    """``file:line`` of a feature, scenario or step in its feature file."""
    loc = getattr(target, "location", None)
    if loc is not None:
        return str(loc)
    filename, line = getattr(target, "filename", None), getattr(target, "line", None)
    return f"{filename}:{line}" if filename else "?"


def display_name(target: Any) -> str:
    """Name as written in the feature file, redacted."""
    return redact_text(str(getattr(target, "name", "") or ""))


def step_text(step: Any) -> str:
    """``Given some text`` for a step, redacted."""
    keyword = str(getattr(step, "keyword", "") or "").strip()
    name = str(getattr(step, "name", "") or "")
    return redact_text(f"{keyword} {name}".strip())


# -- scenarios ---------------------------------------------------------------------------------


@frozen_record
class ScenarioIdentity:
    """Identity of a scenario: file, its (outline) name and the outline row, if any."""

    key: str
    file: str
    line: int | None
    name: str


def scenario_identity(scenario: Any) -> ScenarioIdentity:
    """Key ``file::name`` (``file::outline name::examples|cells`` for an outline row)."""
    file, line = split_location(location(scenario))
    row = getattr(scenario, "_row", None)
    name = display_name(scenario)
    if row is None:
        return ScenarioIdentity(scenario_key(file, name), file, line, name)
    outline = getattr(scenario, "parent", None)
    outline_name = (
        display_name(outline)
        if outline is not None and hasattr(outline, "examples")
        else name.split(" -- @", 1)[0]
    )
    cells = "|".join(str(c) for c in getattr(row, "cells", None) or ())
    examples = _examples_name(outline, row)
    row_id = redact_text(f"{examples}|{cells}" if examples else cells)
    return ScenarioIdentity(scenario_key(file, outline_name, row_id), file, line, name)


def _examples_name(outline: Any, row: Any) -> str:
    for examples in getattr(outline, "examples", None) or ():
        table = getattr(examples, "table", None)
        if any(r is row for r in getattr(table, "rows", None) or ()):
            return str(getattr(examples, "name", "") or "")
    return ""


def scenario_steps(scenario: Any) -> list[Any]:
    """Background and scenario steps, as behave counts them."""
    steps = getattr(scenario, "all_steps", None)
    if steps is not None and not isinstance(steps, (str, bytes)):
        try:
            return list(steps)
        except TypeError:
            pass
    plain = getattr(scenario, "steps", None)
    return list(plain) if isinstance(plain, list) else []


def failure_of(scenario: Any) -> tuple[str | None, str | None]:
    """(error line, ``Given ... (file:line)`` of the failing step) of a failed scenario."""
    for step in scenario_steps(scenario):
        if status_name(step) in ("failed", "error"):
            return error_line(step), f"{step_text(step)} ({location(step)})"
    error = getattr(scenario, "error_message", None)
    return (_first_error_line(str(error)) if error else None), None


def error_line(target: Any) -> str | None:
    """The one line that says what went wrong (``AssertionError: expected 200, got 500``)."""
    exc = getattr(target, "exception", None)
    if isinstance(exc, BaseException):
        text = str(exc).strip().splitlines()
        line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        return _short(redact_text(line))
    message = getattr(target, "error_message", None)
    return _first_error_line(str(message)) if message else None


def _first_error_line(message: str) -> str | None:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return None
    head = lines[0]
    if head.startswith(("ASSERT FAILED", "ERROR:", "HOOK-ERROR")) or len(lines) == 1:
        return _short(redact_text(head))
    return _short(redact_text(lines[-1]))  # a traceback: its last line names the exception


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def walk_scenarios(feature: Any) -> Iterator[Any]:
    """Every scenario of a feature, outline rows expanded, rules descended (as behave)."""
    walk = getattr(feature, "walk_scenarios", None)
    if callable(walk):
        try:
            yield from walk()
            return
        except TypeError:
            pass
    yield from getattr(feature, "scenarios", None) or ()


# -- step definitions --------------------------------------------------------------------------


@frozen_record
class Definition:
    """What a step matched: file, line, step type, pattern and function name."""

    file: str
    line: int | None
    step_type: str
    pattern: str
    function: str

    @property
    def key(self) -> str:
        return step_definition_key(self.file, self.step_type, self.pattern)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class StepResolver:
    """The definition each distinct step text matched, looked up while the run is live.

    :meth:`see` is called for every step (a dict lookup); only the first step with a given
    text and type matches it against behave's registries (a step's own ``match`` wins when
    the behave version keeps one).
    """

    def __init__(self, registries: list[Any] | None = None) -> None:
        self._registries = registries
        self.matches: dict[str, dict[str, Any]] = {}
        """step name -> step type -> match (``None``: undefined)."""

    def see(self, step: Any) -> None:
        """Make sure ``step``'s text is resolved (cheap when it already is)."""
        try:
            by_type = self.matches.get(step.name)
            if by_type is not None and step.step_type in by_type:
                return
        except AttributeError:  # not a behave step: resolved (as undefined) below
            pass
        self._resolve(step)

    def _resolve(self, step: Any) -> Any:
        name = str(getattr(step, "name", ""))
        step_type = str(getattr(step, "step_type", ""))
        match = getattr(step, "match", None)
        if match is None:
            if self._registries is None:
                self._registries = behave_registries()
            for reg in self._registries:
                try:
                    match = reg.find_match(step)
                except Exception:  # a matcher raising again is not our business here
                    match = None
                if match is not None:
                    break
        self.matches.setdefault(name, {})[step_type] = match
        return match


class PatternIndex:
    """Step functions -> the pattern and step type they were registered with."""

    def __init__(
        self,
        matches: Mapping[str, Mapping[str, Any]] | None = None,
        registries: list[Any] | None = None,
    ) -> None:
        self._matches = matches or {}
        self._by_func: dict[int, tuple[str, str]] = {}
        self._registries = registries if registries is not None else behave_registries()
        for reg in self._registries:
            for step_type, matchers in (getattr(reg, "steps", None) or {}).items():
                for matcher in matchers:
                    func = getattr(matcher, "func", None)
                    pattern = getattr(matcher, "pattern", None)
                    if func is not None and pattern is not None:
                        self._by_func.setdefault(id(func), (str(step_type), str(pattern)))

    def match_of(self, step: Any) -> Any:
        """The match recorded for ``step`` during the run (looked up now if it never was)."""
        own = getattr(step, "match", None)
        if own is not None:
            return own
        by_type = self._matches.get(str(getattr(step, "name", "")))
        step_type = str(getattr(step, "step_type", ""))
        if by_type is not None and step_type in by_type:
            return by_type[step_type]
        for reg in self._registries:
            try:
                found = reg.find_match(step)
            except Exception:  # see StepResolver._resolve
                found = None
            if found is not None:
                return found
        return None

    def definition(self, step: Any) -> Definition:
        """The definition that ran ``step`` (an "undefined" one when nothing matched)."""
        match = self.match_of(step)
        func = getattr(match, "func", None) if match is not None else None
        if match is None or func is None:
            return Definition(
                UNDEFINED_FILE, None, str(getattr(step, "step_type", "")), "(undefined step)", ""
            )
        where = str(getattr(match, "location", None) or getattr(func, "__qualname__", "?"))
        file, line = split_location(where)
        found = self._by_func.get(id(func))
        if found is not None:
            step_type, pattern = found
        else:
            step_type = str(getattr(step, "step_type", ""))
            pattern = str(getattr(match, "pattern", None) or getattr(func, "__name__", where))
        function = str(getattr(func, "__qualname__", getattr(func, "__name__", "")))
        return Definition(file, line, step_type, redact_text(pattern), function)


def behave_registries() -> list[Any]:
    """Step registries that may hold the run's definitions.

    ``behave.runner`` binds the registry at import time while ``reset_runtime()`` rebinds
    ``behave.step_registry.registry`` later, so the two can differ; both are searched.
    """
    found: list[Any] = []
    try:
        from behave import runner, step_registry
    except ImportError:  # pragma: no cover - behave is a dependency
        return found
    for reg in (getattr(runner, "the_step_registry", None), step_registry.registry):
        if reg is not None and all(reg is not f for f in found):
            found.append(reg)
    return found
