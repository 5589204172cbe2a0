"""Step registration and step matching, decided by the target interpreter's own behave.

This file is run as a script inside the interpreter behave runs on (isolated: no project
folder on ``sys.path``, see :mod:`qhub.audit.interpreter`); it imports nothing from qhub.
It receives, as data, the step definitions the audit found (patterns, step types, the
matcher in force, locations, in registration order), the custom types registered, the
feature files and the ``execute_steps`` texts. It builds behave's matcher objects from
those patterns and mirrors the registry of *that* behave version:

- behave 1.2.x: a definition is ambiguous when an earlier one of its step type
  ``match()``-es its pattern text (a type-conversion error still counts); parse patterns
  match case-insensitively; a pattern that does not compile stops behave;
- behave 1.3.x: ambiguous when an earlier one ``matches()`` it (the same pattern text, or a
  match without a conversion error); a pattern that does not compile is skipped with an
  error; parse patterns are case-sensitive.

The same definition (same pattern and location) registered twice is ignored, as behave
does when a step module is imported by another one. Feature files are parsed with
behave's parser; a step uses the first definition of its type, then of ``step``, that
matches, as ``StepRegistry.find_match`` does. Converters the audit could not read are
stand-ins that raise, and anything depending on them is reported as uncertain, never as
unused or ambiguous.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_SAMPLES = ("1", "0", "2", "-1", "1.5", "x", "abc", "some text", '"text"', "'text'",
            "true", "false", "yes", "no", "a@b.c", "http://x/y", "")
_TOKEN = "QHUBWILDCARDQHUB"
_REGEX_META = set(".^$*+?{}[]\\|()")


class UnknownConverter(Exception):
    """Raised by stand-in converters whose behaviour the audit could not read."""


def _unknown(text: str) -> Any:
    raise UnknownConverter(text)


def _field_types(pattern: str) -> set[str]:
    return set(re.findall(r"\{[^{}:]*:([A-Za-z_]\w*)[+*?]?\}", pattern))


def _cucumber_types(pattern: str) -> set[str]:
    return set(re.findall(r"(?<!\\)\{([A-Za-z_][\w-]*)\}", pattern))


def _prefix(pattern: str, kind: str | None) -> str:
    """Literal text every matching step starts with (lower-cased, ASCII only)."""
    out: list[str] = []
    if kind in ("re", "re0"):
        text = pattern[1:] if pattern.startswith("^") else pattern
        if "|" in text or "(?" in text:
            return ""
        for ch in text:
            if ch in _REGEX_META:
                if ch in "?*{" and out:
                    out.pop()
                break
            out.append(ch)
    elif kind in ("parse", "cfparse"):
        for ch in pattern:
            if ch in "{}":
                break
            out.append(ch)
    elif kind == "cucumber_expressions":
        for ch in pattern:
            if ch in "({/\\":
                text = "".join(out)
                return text[: text.rfind(" ") + 1].lower() if " " in text else ""
            out.append(ch)
    text = "".join(out)
    for i, ch in enumerate(text):
        if ord(ch) > 127:
            text = text[:i]
            break
    return text.lower()


def _skeleton(pattern: str, kind: str | None) -> str:
    if kind in ("re", "re0"):
        text = pattern.strip("^$")
        text = re.sub(r"\((?:[^()\\]|\\.)*\)[?*+]?", "W", text)
        return re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"\{[^{}]*\}", "W", pattern)
    if kind == "cucumber_expressions":
        text = re.sub(r"\(([^()]*)\)", r"\1", text)
        text = re.sub(r"(\S+)/\S+", r"\1", text)
    return text


class Registry:
    """behave's step registry for one behave version, with pruning by literal prefix."""

    def __init__(self) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {
            "given": [], "when": [], "then": [], "step": []}
        self.buckets: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in self.lists}
        self.lengths: dict[str, set[int]] = {k: set() for k in self.lists}
        self.exact: dict[str, dict[str, list[dict[str, Any]]]] = {k: {} for k in self.lists}

    def add(self, entry: dict[str, Any]) -> None:
        kind = entry["keyword"]
        entry["index"] = len(self.lists[kind])
        self.lists[kind].append(entry)
        prefix = _prefix(entry["pattern"], entry["matcher_name"])
        self.buckets[kind].setdefault(prefix, []).append(entry)
        self.lengths[kind].add(len(prefix))
        self.exact[kind].setdefault(entry["pattern"], []).append(entry)

    def candidates(self, kind: str, text: str) -> list[dict[str, Any]]:
        low = text.lower()
        found: dict[int, dict[str, Any]] = {}
        for n in sorted(self.lengths[kind]):
            if n > len(low):
                break
            for e in self.buckets[kind].get(low[:n], ()):
                found[e["index"]] = e
        for e in self.exact[kind].get(text, ()):
            found[e["index"]] = e
        return [found[i] for i in sorted(found)]


class Api:
    """The parts of behave's API that differ between 1.2.x and 1.3.x."""

    def __init__(self) -> None:
        import behave
        from behave import matchers
        self.version = getattr(behave, "__version__", "unknown")
        self.matchers = matchers
        self.new = hasattr(matchers, "get_step_matcher_factory")
        if self.new:
            self.factory = matchers.get_step_matcher_factory()
            self.mapping = self.factory.step_matcher_class_mapping
        else:
            self.factory = None
            self.mapping = matchers.matcher_mapping
        try:
            if self.new:
                from behave.cucumber_expression import use_step_matcher_for_cucumber_expressions
                current = self.factory.current_matcher
                use_step_matcher_for_cucumber_expressions()
                self.factory._current_matcher = current
        except Exception:
            pass

    def matcher_class(self, name: str | None) -> Any:
        return self.mapping.get(name) if name else None

    def make(self, cls: Any, pattern: str, keyword: str) -> Any:
        def step_function(context: Any) -> None:
            pass
        if self.new:
            return cls(step_function, pattern, keyword)
        return cls(step_function, pattern)

    def register_types(self, matcher_name: str, converters: dict[str, Any]) -> None:
        if self.new:
            cls = self.matcher_class(matcher_name)
            if cls is not None:
                cls.register_type(**converters)
        else:
            self.matchers.register_type(**converters)

    def define_parameter_type(self, name: str, regexp: str) -> None:
        from behave.cucumber_expression import define_parameter_type_with
        define_parameter_type_with(name, regexp, str, transformer=_unknown)

    def ambiguous(self, existing: dict[str, Any], text: str) -> tuple[bool, bool]:
        """(ambiguous, certain) for registering ``text`` after ``existing``."""
        m = existing["matcher"]
        if self.new:
            if m.pattern == text:
                return True, True
            try:
                result = m.match(text)
            except Exception:
                return False, True
            if result is None or not result:
                return False, True
            error = getattr(result, "stored_error", None)
            if isinstance(error, UnknownConverter):
                return True, False
            if error is not None or type(result).__name__ == "MatchWithError":
                return False, True
            return True, True
        try:
            result = m.match(text)
        except Exception:
            return False, True
        return bool(result), True


def _converter(spec: dict[str, Any]) -> Any:
    kind = spec.get("kind")
    if kind == "builtin":
        return {"int": int, "float": float, "str": str, "bool": bool}.get(
            str(spec.get("builtin")))
    if kind == "plain":
        def plain(text: str) -> Any:
            raise UnknownConverter(text)
        return plain
    if kind == "pattern" and spec.get("pattern") is not None:
        import parse  # type: ignore[import-untyped]
        return parse.with_pattern(spec["pattern"], regex_group_count=spec.get("groups"))(_unknown)
    if kind in ("enum", "choice"):
        from parse_type import TypeBuilder  # type: ignore[import-untyped]
        choices = list(spec.get("choices", ()))
        if kind == "enum":
            return TypeBuilder.make_enum({c: c for c in choices})
        return TypeBuilder.make_choice(choices, case_sensitive=spec.get("case_sensitive", True))
    return None


def register(api: Api, request: dict[str, Any]) -> tuple[Registry, dict[str, Any]]:
    """Replay the registrations; the status of every definition, by id."""
    registry = Registry()
    status: dict[str, Any] = {}
    unknown_types: set[str] = set()
    known_types: set[str] = set()
    dynamic = False
    for event in request["events"]:
        if event["op"] == "type":
            if event.get("dynamic"):
                dynamic = True
            converters: dict[str, Any] = {}
            for name, spec in event["types"].items():
                if event.get("cucumber"):
                    if spec.get("pattern") is None:
                        unknown_types.add(name)
                        continue
                    try:
                        api.define_parameter_type(name, spec["pattern"])
                        known_types.add(name)
                    except Exception:
                        unknown_types.add(name)
                    continue
                conv = _converter(spec)
                if conv is None or spec.get("kind") == "unknown":
                    unknown_types.add(name)
                    conv = _unknown
                else:
                    known_types.add(name)
                converters[name] = conv
            if converters:
                try:
                    api.register_types(event.get("matcher") or "parse", converters)
                except Exception:
                    unknown_types.update(converters)
            continue
        ident = event["id"]
        pattern, keyword, name = event["pattern"], event["keyword"], event["matcher"]
        cls = api.matcher_class(name)
        if pattern is None or cls is None:
            why = ("pattern not a constant" if pattern is None
                   else f"matcher {name!r} not known to this behave")
            status[ident] = {"status": "unknown", "why": why}
            continue
        types = _cucumber_types(pattern) if name == "cucumber_expressions" else (
            _field_types(pattern) if name in ("parse", "cfparse") else set())
        uncertain = bool(types & unknown_types) or (dynamic and bool(types - known_types))
        stops = True
        try:
            matcher = api.make(cls, pattern, keyword)
            if api.new:
                stops = False  # behave 1.3 reports a pattern that does not compile, and goes on
                matcher.compile()
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else ""
            text = f"{type(exc).__name__}: {detail}"
            if uncertain:
                status[ident] = {"status": "unknown", "why": "custom type not readable"}
            else:
                status[ident] = {"status": "bad", "error": text[:300], "stops": stops}
            continue
        entry = {"id": ident, "keyword": keyword, "pattern": pattern, "matcher": matcher,
                 "matcher_name": name, "loc": tuple(event["loc"]), "uncertain": uncertain,
                 "case_insensitive": (not api.new) and name in ("parse", "cfparse")}
        result: dict[str, Any] = {"status": "registered"}
        for existing in registry.candidates(keyword, pattern):
            if existing["pattern"] == pattern and existing["loc"] == entry["loc"]:
                result = {"status": "same", "of": existing["id"]}
                break
            hit, certain = api.ambiguous(existing, pattern)
            if hit:
                certain = certain and not uncertain and not existing["uncertain"]
                result = {"status": "ambiguous", "of": existing["id"], "certain": certain}
                break
        status[ident] = result
        if result["status"] == "registered":
            registry.add(entry)
    return registry, status


def find(registry: Registry, kind: str, text: str, used: set[int]) -> bool:
    """behave's find_match: own type first, then ``step``; marks what it reaches."""
    kinds = [kind, "step"] if kind != "step" else ["step"]
    for k in kinds:
        if k not in registry.lists:
            continue
        for entry in registry.candidates(k, text):
            try:
                result = entry["matcher"].match(text)
            except Exception:
                result = None
            if result:
                used.add(entry["id"])
                if entry["uncertain"]:
                    continue  # its real pattern may not match: later ones may be used too
                return True
    return False


def _walk_steps(feature: Any) -> list[Any]:
    steps: list[Any] = []
    if getattr(feature, "background", None) is not None:
        steps.extend(feature.background.steps)
    items = getattr(feature, "run_items", None) or getattr(feature, "scenarios", [])
    queue = list(items)
    while queue:
        item = queue.pop(0)
        name = type(item).__name__
        if name == "Rule":
            if getattr(item, "background", None) is not None:
                steps.extend(item.background.steps)
            queue[0:0] = list(getattr(item, "run_items", None) or item.scenarios)
        elif name == "ScenarioOutline":
            for scenario in item.scenarios:
                steps.extend(scenario.steps)
        else:
            steps.extend(item.steps)
    return steps


def use_features(registry: Registry, request: dict[str, Any], used: set[int]) -> list[str]:
    from behave.parser import parse_file
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for path in request["features"]:
        try:
            feature = parse_file(path, language=request.get("lang"))
        except Exception as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            errors.append(f"{path}: {detail[:300]}")
            continue
        if feature is None:
            continue
        for step in _walk_steps(feature):
            key = (step.step_type, step.name)
            if key not in seen:
                seen.add(key)
                find(registry, step.step_type, step.name, used)
    return errors


def use_templates(registry: Registry, request: dict[str, Any], used: set[int]) -> list[str]:
    """``execute_steps`` texts; wildcards match any value (samples and skeletons)."""
    from behave.parser import parse_steps
    dynamic: list[str] = []
    for tmpl in request["templates"]:
        text = tmpl["text"].replace("\x00", _TOKEN)
        try:
            steps = parse_steps(text, language=request.get("lang"))
        except Exception:
            dynamic.append(tmpl["line"])
            continue
        for step in steps:
            name = step.name
            if _TOKEN not in name:
                find(registry, step.step_type, name, used)
                continue
            if not name.replace(_TOKEN, "").strip():
                dynamic.append(tmpl["line"])
                continue
            for sample in _SAMPLES:
                find(registry, step.step_type, name.replace(_TOKEN, sample), used)
            literal = re.escape(name).replace(re.escape(_TOKEN), ".*")
            kinds = [step.step_type, "step"] if step.step_type != "step" else ["step"]
            for k in kinds:
                for entry in registry.lists.get(k, []):
                    flags = re.IGNORECASE if entry["case_insensitive"] else 0
                    skeleton = _skeleton(entry["pattern"], entry["matcher_name"])
                    if re.fullmatch(literal, skeleton, flags):
                        used.add(entry["id"])
    return dynamic


def main(request_file: str) -> None:
    with open(request_file, encoding="utf-8") as fh:
        request = json.load(fh)
    api = Api()
    registry, status = register(api, request)
    used: set[int] = set()
    errors = use_features(registry, request, used)
    dynamic = use_templates(registry, request, used)
    uncertain = [e["id"] for entries in registry.lists.values() for e in entries
                 if e["uncertain"]]
    answer = {"behave": api.version, "status": status, "used": sorted(used),
              "uncertain": sorted(uncertain), "feature_errors": errors,
              "dynamic_templates": dynamic}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")


if __name__ == "__main__":
    main(_req["file"])  # type: ignore[name-defined]  # noqa: F821 - defined by qhub's boot code
