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
                self._registries = _behave_registries()
            for reg in self._registries:
                try:
                    match = reg.find_match(step)
                except Exception:  # a matcher raising again is not our business here
                    match = None
                if match is not None:
                    break
        self.matches.setdefault(name, {})[step_type] = match
        return match

    def match_of(self, step: Any) -> Any:
        """The match recorded for ``step`` during the run (resolved now if it never was)."""
        own = getattr(step, "match", None)
        if own is not None:
            return own
        by_type = self.matches.get(str(getattr(step, "name", "")))
        step_type = str(getattr(step, "step_type", ""))
        if by_type is not None and step_type in by_type:
            return by_type[step_type]
        return self._resolve(step)


class PatternIndex:
    """Maps step functions to the pattern they were registered with (behave's registry)."""

    def __init__(self, registry: Any = None, resolver: StepResolver | None = None) -> None:
        self._by_func: dict[int, tuple[str, str]] = {}
        self._registries = [registry] if registry is not None else _behave_registries()
        self._resolver = resolver or StepResolver(self._registries)
        for reg in self._registries:
            for step_type, matchers in (getattr(reg, "steps", None) or {}).items():
                for matcher in matchers:
                    func = getattr(matcher, "func", None)
                    pattern = getattr(matcher, "pattern", None)
                    if func is not None and pattern is not None:
                        self._by_func.setdefault(id(func), (str(step_type), str(pattern)))

    def definition(self, step: Any) -> tuple[str, str, str]:
        """(key, pattern, step type) of the definition that ran ``step``.

        The key is the definition's ``file:line``: one row per ``@given(...)`` function.
        """
        match = self._resolver.match_of(step)
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
