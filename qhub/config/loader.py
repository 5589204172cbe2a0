"""Merge setting sources by precedence and validate every value in one place."""

from __future__ import annotations

import difflib
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import Field, fields, replace
from functools import cache
from typing import Any, Union

from qhub._record import frozen_record
from qhub._redact import redact_text
from qhub.config.schema import NAMED_API_SECTION, SECTIONS, ApiSettings
from qhub.config.sources import Entry
from qhub.exceptions import ConfigError

_API_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
_NONE = {"", "none", "null"}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _fields(cls: type) -> dict[str, Field[Any]]:
    return {f.name: f for f in fields(cls)}


def known_keys() -> list[str]:
    """Every dotted setting name, for did-you-mean suggestions and docs."""
    keys = [f"{s}.{name}" for s, cls in SECTIONS.items() for name in _fields(cls)]
    keys += [f"{NAMED_API_SECTION}.<name>.{name}" for name in _fields(ApiSettings)]
    return keys


def _suggest(key: str) -> str:
    candidates = [k for k in known_keys() if "<name>" not in k]
    if key.startswith(NAMED_API_SECTION + "."):
        parts = key.split(".")
        candidates = [f"{'.'.join(parts[:2])}.{n}" for n in _fields(ApiSettings)]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        tail = key.rsplit(".", 1)[-1]
        close = [k for k in candidates if k.rsplit(".", 1)[-1] == tail][:1]
    return f"; did you mean '{close[0]}'?" if close else f"; known sections: {', '.join(SECTIONS)}"


def describe_field(cls: type, name: str) -> str:
    """What the setting ``name`` of section ``cls`` accepts, in words (errors and docs)."""
    return _describe(_hints(cls)[name], _fields(cls)[name])


def _describe(tp: Any, f: Field[Any]) -> str:
    meta = f.metadata
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    optional = origin in (Union, types.UnionType) and len(args) == 1
    base = args[0] if optional else tp
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    if typing.get_origin(base) is list:
        text = "a list (JSON list or comma-separated)"
    elif typing.get_origin(base) is dict:
        text = "a mapping (JSON object or k=v,k2=v2)"
    else:
        text = names.get(base, str(base))
    lo, hi = meta.get("min"), meta.get("max")
    if meta.get("choices"):
        kind = "a list of " if typing.get_origin(base) is list else "one of "
        return kind + ", ".join(meta["choices"])
    if lo is not None and hi is not None:
        text += f" from {_num(lo)} to {_num(hi)}"
    elif lo is not None:
        text += f" >= {_num(lo)}"
    if optional:
        text += " (or none)"
    return text


def _num(value: float) -> str:
    """A limit for people: ``65535``, ``100,000,000`` and ``0.001``, never ``1e+06``."""
    if not float(value).is_integer():
        return f"{value:g}"
    return f"{int(value):,}" if abs(value) >= 100_000 else str(int(value))


class _Invalid(Exception):
    pass


def _one_line(text: str) -> str:
    """Escape control characters so a message from user input stays on one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _quote(key: str) -> str:
    return f"'{key}'" if key.isprintable() else repr(key)


def _scalar(value: Any, tp: Any, from_text: bool) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Invalid
    if tp is int:
        if isinstance(value, bool):
            raise _Invalid
        if isinstance(value, int):
            return value
        if isinstance(value, str) and from_text:
            try:
                return int(value.strip())
            except ValueError:
                raise _Invalid from None
        raise _Invalid
    if tp is float:
        if isinstance(value, bool):
            raise _Invalid
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and from_text:
            try:
                number = float(value.strip())
            except ValueError:
                raise _Invalid from None
        else:
            raise _Invalid
        if not math.isfinite(number):
            raise _Invalid
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Invalid
    raise _Invalid


def _coerce(value: Any, tp: Any, from_text: bool) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (
            from_text and isinstance(value, str) and value.strip().lower() in _NONE
        ):
            return None
        return _coerce(value, args[0], from_text)
    if origin is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, str) and from_text:
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError:
                    raise _Invalid from None
            else:
                value = [p.strip() for p in text.split(",") if p.strip()]
                return [_scalar(v, item, True) for v in value]
        if not isinstance(value, list):
            raise _Invalid
        return [_scalar(v, item, from_text) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        if isinstance(value, str) and from_text:
            text = value.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError:
                    raise _Invalid from None
            else:
                pairs = [p for p in text.split(",") if p.strip()]
                if any("=" not in p for p in pairs):
                    raise _Invalid
                return {
                    k.strip(): _scalar(v.strip(), item, True)
                    for k, v in (p.split("=", 1) for p in pairs)
                }
        if not isinstance(value, Mapping):
            raise _Invalid
        return {str(k): _scalar(v, item, from_text or item is str) for k, v in value.items()}
    return _scalar(value, tp, from_text)


def _validate(entry: Entry, cls: type, name: str) -> Any:
    f = _fields(cls)[name]
    tp = _hints(cls)[name]
    # a rejected URL is not remembered yet: its password is hidden by pattern
    shown = "<redacted>" if f.metadata.get("secret") else redact_text(repr(entry.value))
    try:
        value = _coerce(entry.value, tp, entry.from_text)
    except _Invalid:
        raise ConfigError(
            _one_line(f"{entry.key}={shown} (from {entry.origin}): must be {_describe(tp, f)}")
        ) from None
    meta = f.metadata
    problem = _check(value, meta)
    if problem is not None:
        wanted = problem or f"must be {_describe(tp, f)}"
        raise ConfigError(_one_line(f"{entry.key}={shown} (from {entry.origin}): {wanted}"))
    return value


def _check(value: Any, meta: Mapping[str, Any]) -> str | None:
    """``None`` when ``value`` keeps the setting's limits; ``""`` (use the generic "must be
    ...") or a specific reason when it does not."""
    choices = meta.get("choices")
    items = value if isinstance(value, list) else [value]
    if choices and any(item not in choices for item in items):
        return ""
    lo, hi = meta.get("min"), meta.get("max")
    numbers = [i for i in items if isinstance(i, (int, float)) and not isinstance(i, bool)]
    if any((lo is not None and n < lo) or (hi is not None and n > hi) for n in numbers):
        return ""
    extra = meta.get("check")
    if extra is not None and value is not None:
        reason: str | None = extra(value)
        return reason
    return None


def _target(key: str) -> tuple[str, str | None, type, str]:
    """Split a dotted key into (section, api name or None, dataclass, field name)."""
    parts = key.split(".")
    if len(parts) == 2 and parts[0] in SECTIONS and parts[1] in _fields(SECTIONS[parts[0]]):
        return parts[0], None, SECTIONS[parts[0]], parts[1]
    if (
        len(parts) == 3
        and parts[0] == NAMED_API_SECTION
        and _API_NAME.fullmatch(parts[1])
        and parts[2] in _fields(ApiSettings)
    ):
        return NAMED_API_SECTION, parts[1], ApiSettings, parts[2]
    raise KeyError(key)


@frozen_record(slots=False)
class Merged:
    """The outcome of :func:`merge`."""

    sections: dict[str, Any]
    apis: dict[str, ApiSettings]
    origins: dict[str, str]
    ignored: list[str]
    """One warning per unprefixed environment variable whose value was not valid."""


def merge(entries: list[Entry]) -> Merged:
    """Validate entries in precedence order (later wins).

    Raises :class:`ConfigError` on the first unknown key or bad value, except for values of
    unprefixed environment variables (which may belong to another tool): those are ignored
    with a warning naming the ``QHUB_`` variable that overrides them.
    """
    values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    apis: dict[str, dict[str, Any]] = {}
    origins: dict[str, str] = {}
    ignored: list[str] = []
    for entry in entries:
        try:
            section, api_name, cls, name = _target(entry.key)
        except KeyError:
            raise ConfigError(
                _one_line(
                    f"unknown setting {_quote(entry.key)} (from {entry.origin})"
                    f"{_suggest(entry.key)}"
                )
            ) from None
        try:
            value = _validate(entry, cls, name)
        except ConfigError as exc:
            if entry.overridden_by is None:
                raise
            ignored.append(f"ignored {exc}; set {entry.overridden_by} to configure qhub")
            continue
        if api_name is None:
            values[section][name] = value
        else:
            apis.setdefault(api_name, {})[name] = value
        origins[entry.key] = entry.origin
    sections = {s: SECTIONS[s](**values[s]) for s in SECTIONS}
    base_api: ApiSettings = sections["api"]
    named: dict[str, ApiSettings] = {}
    for api_name, overrides in apis.items():
        if not overrides.get("base_url"):
            raise ConfigError(
                f"{NAMED_API_SECTION}.{api_name}.base_url is required for a named API"
                f" (from {origins.get(next(iter(_keys_for(api_name, origins))), 'config')})"
            )
        named[api_name] = replace(base_api, **overrides)
    return Merged(sections, named, origins, ignored)


def _keys_for(api_name: str, origins: Mapping[str, str]) -> list[str]:
    prefix = f"{NAMED_API_SECTION}.{api_name}."
    return [k for k in origins if k.startswith(prefix)] or [prefix]
