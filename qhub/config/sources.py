"""Where settings come from: files (with line numbers), environment variables, userdata.

Each reader returns :class:`Entry` objects: a dotted key, the raw value and a human-readable
origin such as ``qhub.yaml:12`` or ``environment variable QHUB_CACHE_BACKEND``. Validation
happens later, in one place (:mod:`qhub.config.loader`).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from qhub._bounded import InputLimitError, check_depth, read_regular_text, yaml_load
from qhub._record import frozen_record
from qhub.config.schema import (
    LEGACY_ENV,
    NAMED_API_SECTION,
    RESERVED_ENV,
    SECTIONS,
    SEED_JSON_LAYOUT,
    ApiSettings,
)
from qhub.exceptions import ConfigError

CONFIG_FILES = ("pyproject.toml", "qhub.json", "qhub.yaml", "qhub.yml")
"""Files read from the project root, lowest precedence first."""


@frozen_record(slots=False)
class Entry:
    """One raw setting from one source."""

    key: str
    value: Any
    origin: str
    from_text: bool
    """True when ``value`` is a string to parse (env vars, userdata), not a typed file value."""
    overridden_by: str | None = None
    """For a reference-document variable without the ``QHUB_`` prefix (``CACHE_BACKEND``):
    the ``QHUB_`` name that overrides it. Such a value may belong to another tool, so one
    that does not validate is ignored with a warning instead of stopping the run."""


def _line_of(text: str, path: list[str]) -> int | None:
    """Best-effort line number of ``path`` (section names, then key) in a config file."""
    pos = 0
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if last:
            pattern = rf"(?m)^[ \t]*[\"']?{re.escape(part)}[\"']?[ \t]*[:=]"
        else:
            pattern = rf"(?m)(?:^|[\[\.\"' \t]){re.escape(part)}(?:[\]\"' \t:.=]|$)"
        match = re.compile(pattern).search(text, pos)
        if match is None and last:
            loose = rf"[\"']?{re.escape(part)}[\"']?[ \t]*[:=]"
            match = re.compile(loose).search(text, pos)
        if match is None:
            return None
        pos = match.start() + 1
    return text.count("\n", 0, pos) + 1


def _origin(path: Path, text: str, keypath: list[str]) -> str:
    line = _line_of(text, keypath)
    return f"{path.name}:{line}" if line else path.name


def _flatten(data: Mapping[str, Any], path: Path, text: str, prefix: list[str]) -> Iterator[Entry]:
    """Turn a nested settings mapping into entries, keeping dict-valued settings whole."""
    for top, value in data.items():
        where = [*prefix, str(top)]
        if top == "performance" and isinstance(value, Mapping):
            yield from _seed_layout(value, path, text, where)
        elif top in SECTIONS and isinstance(value, Mapping):
            for key, sub in value.items():
                yield Entry(f"{top}.{key}", sub, _origin(path, text, [*where, str(key)]), False)
        elif top == NAMED_API_SECTION and isinstance(value, Mapping):
            for name, api in value.items():
                if not isinstance(api, Mapping):
                    raise ConfigError(
                        f"{NAMED_API_SECTION}.{name} ({_origin(path, text, [*where, str(name)])}):"
                        " must be a table of API settings such as base_url"
                    )
                for key, sub in api.items():
                    origin = _origin(path, text, [*where, str(name), str(key)])
                    yield Entry(f"{NAMED_API_SECTION}.{name}.{key}", sub, origin, False)
        else:
            yield Entry(str(top), value, _origin(path, text, where), False)


def _seed_layout(
    data: Mapping[str, Any], path: Path, text: str, prefix: list[str]
) -> Iterator[Entry]:
    """Map the reference document's ``{"performance": {...}}`` layout onto our keys."""
    for group, values in data.items():
        mapping = SEED_JSON_LAYOUT.get(str(group))
        if mapping is None or not isinstance(values, Mapping):
            yield Entry(
                f"performance.{group}", values, _origin(path, text, [*prefix, group]), False
            )
            continue
        for key, value in values.items():
            origin = _origin(path, text, [*prefix, str(group), str(key)])
            target = mapping.get(str(key), f"performance.{group}.{key}")
            yield Entry(target, value, origin, False)


def _load_toml(path: Path, text: str) -> Mapping[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    section = tool.get("qhub", {}) if isinstance(tool, Mapping) else {}
    return section if isinstance(section, Mapping) else {}


def _load_yaml(path: Path, text: str) -> Mapping[str, Any]:
    import yaml

    try:
        data = yaml_load(text, max_nodes=100_000, max_depth=MAX_CONFIG_DEPTH)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark is not None else path.name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path.name}:1: must be a mapping of sections, got {type(data).__name__}"
        )
    return data


def _load_json(path: Path, text: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path.name}:1: must be an object of sections, got {type(data).__name__}"
        )
    return data


MAX_CONFIG_BYTES = 1024 * 1024
"""A config file larger than this is refused (real ones are a few KB)."""
MAX_CONFIG_DEPTH = 16
"""Config nests a few levels (tool.qhub.apis.<name>.headers); deeper input is refused."""


def read_file(path: Path) -> list[Entry]:
    """Read one config file (``pyproject.toml``, ``*.json``, ``*.yaml``) into entries."""
    try:
        text = read_regular_text(path, MAX_CONFIG_BYTES)
    except InputLimitError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config file: not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot read config file: {reason}") from None
    try:
        if path.suffix == ".toml":
            data = _load_toml(path, text)
            prefix = ["tool", "qhub"]
        elif path.suffix == ".json":
            data = _load_json(path, text)
            prefix = []
        elif path.suffix in (".yaml", ".yml"):
            data = _load_yaml(path, text)
            prefix = []
        else:
            raise ConfigError(f"{path}: config files must be .toml, .json, .yaml or .yml")
        check_depth(data, MAX_CONFIG_DEPTH)
    except RecursionError:
        raise ConfigError(f"{path.name}: nested too deeply") from None
    except InputLimitError as exc:
        raise ConfigError(f"{path.name}: {exc}") from None
    return list(_flatten(data, path, text, prefix))


def _env_key(rest: str) -> str | None:
    """``CACHE_BACKEND`` -> ``cache.backend``; ``APIS_X_BASE_URL`` -> ``apis.x.base_url``."""
    lowered = rest.lower()
    for section, cls in SECTIONS.items():
        head = section + "_"
        if lowered.startswith(head):
            name = lowered[len(head) :]
            return f"{section}.{name}" if name in {f.name for f in fields(cls)} else None
    head = NAMED_API_SECTION + "_"
    if lowered.startswith(head):
        remainder = lowered[len(head) :]
        for f in sorted(fields(ApiSettings), key=lambda f: -len(f.name)):
            tail = "_" + f.name
            if remainder.endswith(tail) and len(remainder) > len(tail):
                return f"{NAMED_API_SECTION}.{remainder[: -len(tail)]}.{f.name}"
    return None


def _unknown_env(name: str) -> str:
    known = [f"QHUB_{s}_{f.name}".upper() for s, cls in SECTIONS.items() for f in fields(cls)]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"environment variable {name} is not a qhub setting (ignored){hint}"


def read_env(environ: Mapping[str, str]) -> tuple[list[Entry], list[str]]:
    """Entries from ``QHUB_*`` and reference-document variables, plus warnings.

    A ``QHUB_`` name wins over its unprefixed twin (it is emitted later).
    """
    entries: list[Entry] = []
    warnings: list[str] = []
    for name, legacy_target in LEGACY_ENV.items():
        twin = f"QHUB_{name}"
        if name in environ and twin not in environ:
            origin = f"environment variable {name}"
            entries.append(Entry(legacy_target, environ[name], origin, True, overridden_by=twin))
    for name in sorted(environ):
        if not name.startswith("QHUB_") or name in RESERVED_ENV:
            continue
        rest = name[len("QHUB_") :]
        target = LEGACY_ENV.get(rest) or _env_key(rest)
        if target is None:
            warnings.append(_unknown_env(name))
            continue
        entries.append(Entry(target, environ[name], f"environment variable {name}", True))
    return entries, warnings


def read_userdata(userdata: Mapping[str, Any]) -> list[Entry]:
    """Entries from behave userdata: ``behave -D qhub.cache.backend=redis``."""
    entries = []
    for name, value in userdata.items():
        if not str(name).startswith("qhub."):
            continue
        key = str(name)[len("qhub.") :]
        entries.append(Entry(key, value, f"behave userdata -D {name}", isinstance(value, str)))
    return entries


def read_overrides(overrides: Mapping[str, Any]) -> list[Entry]:
    """Entries passed in code, e.g. ``install(context, overrides={"api.base_url": url})``."""
    return [Entry(str(k), v, "overrides passed in code", False) for k, v in overrides.items()]
