"""Template files: record shapes built from Faker providers, fixed values and references.

A template file (YAML or JSON) holds ``templates:`` and/or ``datasets:``; see
``docs/data.md`` for the format. Files are validated completely (unknown providers,
bad arguments, unknown references, cycles, format specs that cannot apply, counts and
Faker sizes beyond :class:`Limits`) when the folder loads, before any record is made, with
``TemplateError("file:line: field 'x': problem")``.
"""

from __future__ import annotations

import inspect
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qhub._record import frozen_record
from qhub.data._faker import is_provider_name
from qhub.data._source import Path_, Source
from qhub.data._text import one_line
from qhub.data.kinds import KIND_FIELDS, KIND_SAMPLES, KINDS
from qhub.data.recipe import stable_hash
from qhub.exceptions import DataError, TemplateError

ProviderLookup = Callable[[str], "Callable[..., Any] | None"]
"""Provider name -> its method (for signature checks), or None when it does not exist."""

DIRECTIVES: dict[str, frozenset[str]] = {
    "faker": frozenset({"args", "unique"}),
    "value": frozenset(),
    "choice": frozenset(),
    "sequence": frozenset(),
    "ref": frozenset({"of"}),
    "format": frozenset({"unique"}),
}
"""Directive key -> the extra options it accepts."""

_SIZE_WORDS = frozenset({
    "nb", "num", "len", "length", "count", "size", "chars", "digits", "rows", "files", "texts",
    "letters", "words", "sentences",
})
"""Words that mark a Faker parameter as a size (``max_chars``, ``nb_words``, ``length``...)."""
_WORD = re.compile(r"[a-z]+")


@frozen_record(slots=False)
class Limits:
    """How big a template may make things (``data.max_records``, ``data.max_faker_size``)."""

    max_records: int = 100_000
    """Largest ``count`` of a dataset entry and ``of`` of a ``ref``."""
    max_faker_size: int = 10_000
    """Largest size-like Faker argument, and longest text argument."""


_TEMPLATE_KEYS = frozenset({"kind", "fields", "description"})
_DATASET_ENTRY_KEYS = frozenset({"template", "kind", "count", "users", "products", "overrides"})
DEFAULT_REF_COUNT = 10


def validate_file(
    source: Source, providers: ProviderLookup, limits: Limits | None = None
) -> dict[str, Any]:
    """Check one parsed file; return ``{"templates": {...}, "datasets": {...}}`` normalized.

    Cross-file checks (does a referenced template exist, cycles) happen in
    :func:`resolve`, once every file is loaded.
    """
    limits = limits or Limits()
    data = source.data
    if data is None:
        return {"templates": {}, "datasets": {}}
    if not isinstance(data, dict):
        raise source.error((), "file", "top level must be a mapping with 'templates' and/or "
                           "'datasets'")
    unknown = sorted(set(data) - {"templates", "datasets"})
    if unknown:
        raise source.error((unknown[0],), f"key '{unknown[0]}'",
                           "unknown top-level key (allowed: templates, datasets)")
    templates = {
        name: _template(source, ("templates", name), name, spec, providers, limits=limits)
        for name, spec in _mapping(source, ("templates",), data.get("templates", {})).items()
    }
    datasets = {
        name: _dataset(source, ("datasets", name), name, spec, limits)
        for name, spec in _mapping(source, ("datasets",), data.get("datasets", {})).items()
    }
    return {"templates": templates, "datasets": datasets}


def _mapping(source: Source, path: Path_, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise source.error(path, f"'{'.'.join(map(str, path))}'", "must be a mapping")
    return value


def _template(
    source: Source,
    path: Path_,
    name: str,
    spec: Any,
    providers: ProviderLookup,
    *,
    limits: Limits,
) -> dict[str, Any]:
    what = f"template '{name}'"
    if name in KINDS:
        raise source.error(path, what, "name clashes with a built-in kind")
    if not isinstance(spec, dict):
        raise source.error(path, what, "must be a mapping with 'fields'")
    unknown = sorted(set(spec) - _TEMPLATE_KEYS)
    if unknown:
        raise source.error((*path, unknown[0]), what, f"unknown key '{unknown[0]}' "
                           f"(allowed: {', '.join(sorted(_TEMPLATE_KEYS))})")
    kind = spec.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise source.error((*path, "kind"), what, "'kind' must be a kind or template name")
    fields = spec.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise source.error((*path, "fields"), what, "'fields' must be a non-empty mapping")
    # fields a ``format`` may use; unchecked (None) when the base is another template
    known: set[str] | None = (
        set(KIND_FIELDS[kind]) if kind in KIND_FIELDS else {"id"} if kind is None else None
    )
    # sample values of fields whose type is known, to try ``format`` specs on at load time
    samples: dict[str, list[Any]] = (
        {k: [v] for k, v in KIND_SAMPLES[kind].items()} if kind in KIND_SAMPLES
        else {"id": [1]} if kind is None else {}
    )
    normalized = {}
    for field_name, field_spec in fields.items():
        fpath = (*path, "fields", field_name)
        directive = _directive(source, fpath, field_name, field_spec, providers=providers,
                               known=known, samples=samples, limits=limits)
        normalized[field_name] = directive
        if known is not None:
            known.add(field_name)
        samples.pop(field_name, None)
        sample = _sample(directive)
        if sample is not None:
            samples[field_name] = sample
    return {
        "name": name,
        "kind": kind,
        "fields": normalized,
        "file": source.name,
        "line": source.line(path),
    }


def _directive(
    source: Source,
    path: Path_,
    label: str,
    spec: Any,
    *,
    providers: ProviderLookup,
    known: set[str] | None,
    samples: dict[str, list[Any]],
    limits: Limits,
) -> dict[str, Any]:
    what = f"field '{label}'"
    if not isinstance(spec, dict):
        return {"value": spec}
    keys = [k for k in spec if k in DIRECTIVES]
    if not keys:
        if not spec:
            return {"value": {}}
        return {"object": {
            k: _directive(source, (*path, k), f"{label}.{k}", v, providers=providers,
                          known=known, samples=samples, limits=limits)
            for k, v in spec.items()
        }}
    if len(keys) > 1:
        raise source.error(path, what, f"use one of {', '.join(keys)}, not several")
    directive = keys[0]
    extra = sorted(set(spec) - {directive} - DIRECTIVES[directive])
    if extra:
        allowed = ", ".join(sorted(DIRECTIVES[directive])) or "none"
        raise source.error((*path, extra[0]), what,
                           f"unknown option '{extra[0]}' for '{directive}' (allowed: {allowed})")
    unique = spec.get("unique", False)
    if not isinstance(unique, bool):
        raise source.error((*path, "unique"), what, "'unique' must be true or false")
    arg = spec[directive]
    if directive == "value":
        return {"value": arg}
    if directive == "faker":
        return _faker(source, path, what, arg, args=spec.get("args"), unique=unique,
                      providers=providers, limits=limits)
    if directive == "choice":
        if not isinstance(arg, list) or not arg:
            raise source.error(path, what, "'choice' needs a non-empty list")
        return {"choice": arg}
    if directive == "sequence":
        _check_format(source, path, what, arg, allowed={"n"}, samples={"n": [1]})
        return {"sequence": arg}
    if directive == "format":
        _check_format(source, path, what, arg, allowed=known, samples=samples)
        return {"format": arg, "unique": unique}
    return _ref(source, path, what, arg, of=spec.get("of", DEFAULT_REF_COUNT), limits=limits)


def _faker(
    source: Source,
    path: Path_,
    what: str,
    provider: Any,
    *,
    args: Any,
    unique: bool,
    providers: ProviderLookup,
    limits: Limits,
) -> dict[str, Any]:
    if not isinstance(provider, str) or not provider:
        raise source.error(path, what, "'faker' needs a provider name")
    method = providers(provider)
    if method is None:
        raise source.error(path, what, f"unknown provider '{provider}'")
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    if isinstance(args, list):
        positional = args
    elif isinstance(args, dict):
        keywords = args
    elif args is not None:
        raise source.error((*path, "args"), what, "'args' must be a list or a mapping")
    try:
        signature = inspect.signature(method)
        bound: dict[str, Any] = dict(signature.bind(*positional, **keywords).arguments)
    except TypeError as exc:
        raise source.error((*path, "args"), what,
                           f"bad arguments for provider '{provider}': {exc}") from None
    except ValueError:  # builtins without a signature: accept and let generation tell
        bound = {f"#{i}": v for i, v in enumerate(positional)} | keywords
    else:
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if all(signature.parameters[n].kind in plain for n in bound):
            # stored by name: every argument's meaning (and size) is known from the content
            positional, keywords = [], bound
    problem = oversized_argument(bound, limits)
    if problem:
        raise source.error((*path, "args"), what, f"provider '{provider}': {problem}")
    return {"faker": provider, "args": positional, "kwargs": keywords, "unique": unique}


def oversized_argument(arguments: Mapping[str, Any], limits: Limits) -> str | None:
    """Why one of a Faker call's arguments is too big to generate with, or None.

    A size-like parameter (its name has a word such as ``nb``, ``length``, ``chars``,
    ``digits``, ``count``, ``size``) may be at most ``limits.max_faker_size``, and so may
    every text argument's length: ``pystr(max_chars=10**9)`` or ``random_number(digits=10**6)``
    would otherwise exhaust memory or never finish.
    """
    cap = limits.max_faker_size
    for name, value in arguments.items():
        sizes = value if isinstance(value, (list, tuple)) else [value]
        if _SIZE_WORDS.intersection(_WORD.findall(name.lower())):
            for size in sizes:
                if isinstance(size, (int, float)) and not isinstance(size, bool) and size > cap:
                    return (f"argument '{name}' = {size:g} is larger than data.max_faker_size "
                            f"({cap:,})")
        for text in sizes:
            if isinstance(text, str) and len(text) > cap:
                return (f"argument '{name}' is {len(text):,} characters long; "
                        f"data.max_faker_size is {cap:,}")
    return None


def _check_format(
    source: Source,
    path: Path_,
    what: str,
    fmt: Any,
    *,
    allowed: set[str] | None,
    samples: Mapping[str, list[Any]],
) -> None:
    """Refuse a format string that is malformed, names unknown fields, or whose format spec
    cannot apply to a field of known type (``{n:s}`` on an int fails at load, not mid-run)."""
    if not isinstance(fmt, str):
        raise source.error(path, what, "format must be a string")
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(fmt)
                 if f is not None]
    except ValueError as exc:
        raise source.error(path, what, f"bad format string: {exc}") from None
    names = {f.split(".")[0].split("[")[0] for f, _, _ in parts}
    if allowed is not None:
        missing = sorted(n for n in names if n not in allowed)
        if missing:
            raise source.error(path, what, f"format uses unknown field '{missing[0]}' "
                               f"(allowed: {', '.join(sorted(allowed)) or 'none'})")
    for name, spec, conversion in parts:
        if conversion not in (None, "r", "s", "a"):
            raise source.error(path, what, f"bad format string: unknown conversion "
                               f"'!{conversion}' for field '{name}'")
        if name not in samples or "{" in (spec or ""):
            continue  # a nested, indexed or unknown-typed field: checked when it renders
        for sample in samples[name]:
            shown = _CONVERSIONS[conversion](sample) if conversion else sample
            try:
                format(shown, spec or "")
            except (ValueError, TypeError) as exc:
                raise source.error(path, what, f"format spec '{{{name}:{spec}}}' cannot apply "
                                   f"to a value of type {type(shown).__name__}: {exc}") from None


_CONVERSIONS: dict[str, Callable[[Any], str]] = {"r": repr, "s": str, "a": ascii}


def _sample(directive: Mapping[str, Any]) -> list[Any] | None:
    """Values a field of this directive can take, when its type is known without Faker."""
    if "value" in directive:
        return [directive["value"]]
    if "choice" in directive:
        return list(directive["choice"])
    if "sequence" in directive or "format" in directive:
        return ["text"]
    if "object" in directive:
        return [{}]
    return None  # faker and ref: the type is only known when records are generated


def _ref(
    source: Source, path: Path_, what: str, target: Any, *, of: Any, limits: Limits
) -> dict[str, Any]:
    if not isinstance(target, str) or target.count(".") != 1 or "" in target.split("."):
        raise source.error(path, what, "'ref' must look like '<kind or template>.<field>'")
    if isinstance(of, bool) or not isinstance(of, int) or of < 1:
        raise source.error((*path, "of"), what, "'of' must be a positive integer")
    if of > limits.max_records:
        raise source.error((*path, "of"), what, f"'of' is {of:,}; data.max_records is "
                           f"{limits.max_records:,}")
    kind, field_name = target.split(".")
    return {"ref": kind, "field": field_name, "of": of}


def _dataset(
    source: Source, path: Path_, name: str, spec: Any, limits: Limits
) -> dict[str, Any]:
    what = f"dataset '{name}'"
    if not isinstance(spec, dict) or not spec:
        raise source.error(path, what, "must map entry names to {template|kind, count}")
    entries: dict[str, dict[str, Any]] = {}
    for entry, entry_spec in spec.items():
        epath = (*path, entry)
        ewhat = f"dataset '{name}' entry '{entry}'"
        if not isinstance(entry_spec, dict):
            raise source.error(epath, ewhat, "must be a mapping with 'template' or 'kind'")
        unknown = sorted(set(entry_spec) - _DATASET_ENTRY_KEYS)
        if unknown:
            raise source.error((*epath, unknown[0]), ewhat, f"unknown key '{unknown[0]}'")
        of = entry_spec.get("template", entry_spec.get("kind"))
        if not isinstance(of, str):
            raise source.error(epath, ewhat, "needs 'template' or 'kind'")
        count = entry_spec.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise source.error((*epath, "count"), ewhat, "'count' must be a positive integer")
        if count > limits.max_records:
            raise source.error((*epath, "count"), ewhat, f"'count' is {count:,}; "
                               f"data.max_records is {limits.max_records:,}")
        overrides = entry_spec.get("overrides", {})
        if not isinstance(overrides, dict):
            raise source.error((*epath, "overrides"), ewhat, "'overrides' must be a mapping")
        related: dict[str, Any] = {}
        for rel in ("users", "products"):
            if rel in entry_spec:
                value = entry_spec[rel]
                if not (isinstance(value, str) and value in entries) and not (
                    isinstance(value, int) and not isinstance(value, bool)
                    and 0 < value <= limits.max_records
                ):
                    raise source.error((*epath, rel), ewhat,
                                       f"'{rel}' must be a count up to data.max_records "
                                       f"({limits.max_records:,}) or an earlier entry's name")
                related[rel] = value
        entries[entry] = {"of": of, "count": count, "overrides": overrides, **related,
                          "line": source.line(epath)}
    return {"name": name, "entries": entries, "file": source.name, "line": source.line(path)}


def check_content(content: Any, limits: Limits) -> bool:
    """True when ``content`` has the shape and sizes :func:`validate_file` gives.

    Validated content is cached; what comes back from a shared cache may be hostile, so it
    is checked again (cheaply, without Faker) before use. False means: parse the file anew.
    """
    try:
        _check_content(content, limits)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def _expect(ok: bool) -> None:
    if not ok:
        raise ValueError("cached template content is not what validation produces")


def _check_content(content: Any, limits: Limits) -> None:
    _expect(isinstance(content, dict) and set(content) == {"templates", "datasets"})
    for name, spec in content["templates"].items():
        _expect(isinstance(spec, dict) and spec["name"] == name and name not in KINDS)
        _expect(spec["kind"] is None or isinstance(spec["kind"], str))
        _expect(isinstance(spec["file"], str) and type(spec["line"]) is int)
        _check_fields(spec["fields"], limits, top=True)
    for name, spec in content["datasets"].items():
        _expect(isinstance(spec, dict) and spec["name"] == name)
        _expect(isinstance(spec["file"], str) and type(spec["line"]) is int)
        _expect(isinstance(spec["entries"], dict) and bool(spec["entries"]))
        for entry in spec["entries"].values():
            _expect(isinstance(entry["of"], str) and isinstance(entry["overrides"], dict))
            _expect(type(entry["count"]) is int and 0 < entry["count"] <= limits.max_records)
            for rel in ("users", "products"):
                value = entry.get(rel, 1)
                _expect(isinstance(value, str)
                        or (type(value) is int and 0 < value <= limits.max_records))


def _check_fields(fields: Any, limits: Limits, *, top: bool = False) -> None:
    _expect(isinstance(fields, dict) and (bool(fields) or not top))
    for directive in fields.values():
        _expect(isinstance(directive, dict))
        keys = set(directive)
        if keys == {"value"}:
            continue
        if keys == {"object"}:
            _check_fields(directive["object"], limits)
        elif keys == {"faker", "args", "kwargs", "unique"}:
            args, kwargs = directive["args"], directive["kwargs"]
            _expect(is_provider_name(directive["faker"]) and isinstance(args, list))
            _expect(isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs))
            _expect(isinstance(directive["unique"], bool))
            named = {f"#{i}": v for i, v in enumerate(args)} | kwargs
            _expect(oversized_argument(named, limits) is None)
        elif keys == {"choice"}:
            _expect(isinstance(directive["choice"], list) and bool(directive["choice"]))
        elif keys == {"sequence"}:
            _expect(isinstance(directive["sequence"], str))
        elif keys == {"format", "unique"}:
            _expect(isinstance(directive["format"], str))
            _expect(isinstance(directive["unique"], bool))
        else:
            _expect(keys == {"ref", "field", "of"})
            _expect(isinstance(directive["ref"], str) and isinstance(directive["field"], str))
            _expect(type(directive["of"]) is int and 0 < directive["of"] <= limits.max_records)


@frozen_record(slots=False)
class Template:
    """A resolved template: its base kind, field layers (base first) and content hash."""

    name: str
    base: str | None
    """Built-in kind the records start from (None: only ``id`` plus the fields)."""
    layers: tuple[Mapping[str, Any], ...]
    hash: str
    refs: tuple[tuple[str, int], ...]
    """(kind or template, count) of every dataset the fields reference."""
    file: str
    line: int


@dataclass
class TemplateSet:
    """Every template and dataset found in a templates folder, resolved and hashed."""

    templates: dict[str, Template] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template(self, name: str) -> Template:
        """The template called ``name``; DataError listing known names if there is none."""
        try:
            return self.templates[name]
        except KeyError:
            known = ", ".join(sorted([*KINDS, *self.templates]))
            raise DataError(
                one_line(f"unknown kind or template {name!r} (known: {known})")
            ) from None

    def dataset(self, name: str) -> dict[str, Any]:
        """The dataset definition called ``name``."""
        try:
            return self.datasets[name]
        except KeyError:
            known = ", ".join(sorted(self.datasets)) or "none defined"
            raise DataError(one_line(f"unknown dataset {name!r} (known: {known})")) from None


def resolve(files: list[dict[str, Any]]) -> TemplateSet:
    """Join validated files into a :class:`TemplateSet`: names, references, cycles, hashes."""
    raw: dict[str, dict[str, Any]] = {}
    datasets: dict[str, dict[str, Any]] = {}
    for content in files:
        for name, spec in content["templates"].items():
            if name in raw:
                first = raw[name]
                raise TemplateError(one_line(f"{spec['file']}:{spec['line']}: template '{name}': "
                                    f"already defined at {first['file']}:{first['line']}"))
            raw[name] = spec
        for name, spec in content["datasets"].items():
            if name in datasets:
                first = datasets[name]
                raise TemplateError(one_line(f"{spec['file']}:{spec['line']}: dataset '{name}': "
                                    f"already defined at {first['file']}:{first['line']}"))
            datasets[name] = spec
    resolved: dict[str, Template] = {}
    for name in raw:
        _resolve_one(name, raw, resolved, ())
    for spec in datasets.values():
        for entry, entry_spec in spec["entries"].items():
            if entry_spec["of"] not in KINDS and entry_spec["of"] not in resolved:
                raise TemplateError(one_line(f"{spec['file']}:{entry_spec['line']}: dataset "
                                    f"'{spec['name']}' entry '{entry}': unknown kind or "
                                    f"template '{entry_spec['of']}'"))
    return TemplateSet(resolved, datasets)


def _resolve_one(
    name: str, raw: dict[str, dict[str, Any]], done: dict[str, Template], stack: tuple[str, ...]
) -> Template:
    if name in done:
        return done[name]
    spec = raw[name]
    where = f"{spec['file']}:{spec['line']}: template '{name}'"
    if name in stack:
        raise TemplateError(one_line(f"{where}: circular reference {' -> '.join((*stack, name))}"))
    stack = (*stack, name)
    deps: dict[str, str] = {}
    kind = spec["kind"]
    base: str | None = None
    layers: tuple[Mapping[str, Any], ...] = ()
    refs: list[tuple[str, int]] = []
    if kind is not None:
        if kind in KINDS:
            base = kind
        elif kind in raw:
            parent = _resolve_one(kind, raw, done, stack)
            deps[kind] = parent.hash
            base, layers, refs = parent.base, parent.layers, list(parent.refs)
        else:
            raise TemplateError(one_line(f"{where}: unknown kind or template '{kind}'"))
    for target, field_name, of in _refs(spec["fields"]):
        if target in raw:
            deps[target] = _resolve_one(target, raw, done, stack).hash
        elif target not in KINDS:
            raise TemplateError(one_line(f"{where}: field '{field_name}': ref to unknown kind or "
                                f"template '{target}'"))
        if (target, of) not in refs:
            refs.append((target, of))
    content = {"kind": kind, "fields": spec["fields"], "deps": deps}
    template = Template(
        name=name,
        base=base,
        layers=(*layers, spec["fields"]),
        hash=stable_hash(content),
        refs=tuple(refs),
        file=spec["file"],
        line=spec["line"],
    )
    done[name] = template
    return template


def _refs(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = []
    for name, directive in fields.items():
        if "ref" in directive:
            found.append((directive["ref"], prefix + name, directive["of"]))
        elif "object" in directive:
            found.extend(_refs(directive["object"], f"{prefix}{name}."))
    return found
