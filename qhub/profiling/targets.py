"""Reading names, keys and statuses off behave model objects, tolerantly.

Everything here is called once per object at the end of the run, never in the hot path.
Text that users wrote (step text, scenario names) is redacted before it leaves this module.
"""

from __future__ import annotations

from typing import Any

from qhub._redact import redact_text

UNDEFINED_KEY = "<undefined>"


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


class PatternIndex:
    """Maps step functions to the pattern they were registered with (behave's registry)."""

    def __init__(self, registry: Any = None) -> None:
        self._by_func: dict[int, tuple[str, str]] = {}
        self._matches: dict[tuple[str, str], Any] = {}
        self._registries = [registry] if registry is not None else _behave_registries()
        for reg in self._registries:
            for step_type, matchers in (getattr(reg, "steps", None) or {}).items():
                for matcher in matchers:
                    func = getattr(matcher, "func", None)
                    pattern = getattr(matcher, "pattern", None)
                    if func is not None and pattern is not None:
                        self._by_func.setdefault(id(func), (str(step_type), str(pattern)))

    def _match(self, step: Any) -> Any:
        """The step's match: behave does not keep it on the step, so match again (cached)."""
        match = getattr(step, "match", None)
        if match is not None:
            return match
        key = (str(getattr(step, "step_type", "")), str(getattr(step, "name", "")))
        if key not in self._matches:
            self._matches[key] = None
            for reg in self._registries:
                try:
                    found = reg.find_match(step)
                except Exception:  # a matcher raising again is not our business here
                    found = None
                if found is not None:
                    self._matches[key] = found
                    break
        return self._matches[key]

    def definition(self, step: Any) -> tuple[str, str, str]:
        """(key, pattern, step type) of the definition that ran ``step``.

        The key is the definition's ``file:line``: one row per ``@given(...)`` function.
        """
        match = self._match(step)
        func = getattr(match, "func", None) if match is not None else None
        if match is None or func is None:
            return UNDEFINED_KEY, "(undefined step)", str(getattr(step, "step_type", ""))
        key = str(getattr(match, "location", None) or getattr(func, "__qualname__", "?"))
        found = self._by_func.get(id(func))
        if found is not None:
            step_type, pattern = found
        else:
            step_type = str(getattr(step, "step_type", ""))
            pattern = str(getattr(match, "pattern", None) or getattr(func, "__name__", key))
        return key, redact_text(str(pattern)), step_type


def _behave_registries() -> list[Any]:
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
