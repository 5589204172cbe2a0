"""Response validation: JSON Schema with compiled validators cached per file, and a fast
required/unexpected-fields check.

JSON Schema checking uses ``jsonschema`` (the reference implementation, maintained, all
drafts, ``$ref`` across files through ``referencing``). Building a validator is the costly
part, so each schema file is compiled once and reused until the file changes;
:attr:`SchemaStore.compilations` counts compilations so tests can prove it.

Compiling is qhub's work, not the step's: it runs under ``qhub._overhead.charged`` (the
first compilation also imports jsonschema, ~0.1 s), so the profiler charges it to qhub
rather than to the user's step that first validated a response.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from qhub._overhead import charged
from qhub._redact import redact_snippet
from qhub.exceptions import ResponseValidationError, SchemaError

_SUFFIXES = ("", ".json", ".schema.json", ".yaml", ".yml")
_MAX_LISTED = 3
_MAX_SCHEMA_BYTES = 16 * 1024 * 1024
_MISSING = object()


def json_path(parts: Iterable[Any]) -> str:
    """``["pets", 0, "name"]`` -> ``$.pets[0].name``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validation_error(
    context: str, problems: Sequence[tuple[str, str]]
) -> ResponseValidationError:
    """One exception listing the first few ``(field path, reason)`` problems.

    Reasons quote values of the response (``'abc' is not of type 'integer'``): they are
    redacted like everything else qhub shows.
    """
    problems = [(path, redact_snippet(why, 300)) for path, why in problems]
    shown = "; ".join(f"at {path}: {why}" for path, why in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    tail = f" (and {more} more)" if more > 0 else ""
    exc = ResponseValidationError(f"{context}: {shown}{tail}")
    exc.problems = list(problems)  # type: ignore[attr-defined]
    exc.field_path = problems[0][0] if problems else "$"  # type: ignore[attr-defined]
    return exc


def _load(path: Path) -> Any:
    """A schema file's data: a regular file of bounded size, YAML bounded in nodes and
    depth (no alias bombs), JSON bounded in depth."""
    from qhub._bounded import InputLimitError, check_depth, read_regular_text, yaml_load

    try:
        text = read_regular_text(path, _MAX_SCHEMA_BYTES)
    except InputLimitError as exc:
        raise SchemaError(f"schema {exc}") from None
    except UnicodeDecodeError:
        raise SchemaError(f"schema {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SchemaError(f"cannot read schema {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            return yaml_load(text)
        data = json.loads(text)
        check_depth(data)
        return data
    except InputLimitError as exc:
        raise SchemaError(f"schema {path}: {exc}") from None
    except RecursionError:
        raise SchemaError(f"schema {path} nests too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise SchemaError(f"schema {path} is not valid JSON: {exc}") from None
    except Exception as exc:  # yaml.YAMLError does not derive from ValueError
        raise SchemaError(f"schema {path} is not valid YAML: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SchemaStore:
    """Finds schema files by name and keeps one compiled validator per file."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.compilations = 0
        self._lock = threading.Lock()
        self._compiled: dict[Path, tuple[int, Any]] = {}

    def resolve(self, name: str | Path) -> Path:
        """The schema file for ``name`` (a path, or a name looked up in :attr:`directory`)."""
        direct = Path(name).expanduser()
        if direct.is_absolute() or (direct.suffix and direct.exists()):
            if direct.exists():
                return direct.resolve()  # a FIFO or folder is refused when read
            raise SchemaError(f"schema file {direct} does not exist")
        if self.directory is None:
            raise SchemaError(
                f"schema {str(name)!r}: no schemas folder configured (api.schemas_dir)"
            )
        tried = [f"{name}{suffix}" for suffix in _SUFFIXES]
        for candidate in tried:
            path = self.directory / candidate
            if path.exists() and not path.is_dir():
                return path.resolve()
        raise SchemaError(
            f"schema {str(name)!r} not found in {self.directory} (tried {', '.join(tried)})"
        )

    def validator(self, name: str | Path) -> Any:
        """The compiled validator of a schema, compiled at most once per file version."""
        path = self.resolve(name)
        try:
            version = path.stat().st_mtime_ns
        except OSError as exc:
            raise SchemaError(f"cannot read schema {path}: {exc.strerror or exc}") from None
        with self._lock:
            cached = self._compiled.get(path)
            if cached is not None and cached[0] == version:
                return cached[1]
            with charged("JSON Schema compile"):
                compiled = self._compile(path)
            self._compiled[path] = (version, compiled)
            self.compilations += 1
            return compiled

    def _compile(self, path: Path) -> Any:
        from jsonschema.exceptions import SchemaError as JSONSchemaError
        from jsonschema.validators import validator_for
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT202012

        schema = _load(path)
        if not isinstance(schema, (dict, bool)):
            raise SchemaError(f"schema {path} must be a JSON object, not {type(schema).__name__}")
        cls = validator_for(schema)
        try:
            cls.check_schema(schema)
        except JSONSchemaError as exc:
            raise SchemaError(f"schema {path} is invalid: {exc.message}") from None

        def retrieve(uri: str) -> Resource[Any]:
            if not uri.startswith("file:"):
                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
            from urllib.parse import unquote, urlsplit

            target = Path(unquote(urlsplit(uri).path))
            return Resource.from_contents(_load(target), default_specification=DRAFT202012)

        uri = path.as_uri()
        if isinstance(schema, dict) and "$id" not in schema:
            schema = {"$id": uri, **schema}
        registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
        return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)

    def check(self, instance: Any, name: str | Path, context: str = "response") -> None:
        """Raise :class:`ResponseValidationError` naming each failing field and why."""
        validator = self.validator(name)
        errors = list(validator.iter_errors(instance))
        if not errors:
            return
        from jsonschema.exceptions import relevance

        errors.sort(key=relevance, reverse=True)
        problems = [(json_path(e.absolute_path), e.message) for e in errors]
        raise validation_error(f"{context} does not match schema {str(name)!r}", problems)


def lookup(data: Any, dotted: str) -> Any:
    """Value at ``a.b[0].c`` in parsed JSON, or a private sentinel when absent."""
    current = data
    for raw in dotted.replace("]", "").replace("[", ".").split("."):
        if raw in {"", "$"}:
            continue
        if isinstance(current, Mapping) and raw in current:
            current = current[raw]
        elif isinstance(current, list) and raw.lstrip("-").isdigit() and -len(current) <= int(
            raw
        ) < len(current):
            current = current[int(raw)]
        else:
            return _MISSING
    return current


def is_missing(value: Any) -> bool:
    """True for :func:`lookup`'s "absent" sentinel."""
    return value is _MISSING


def check_fields(
    data: Any,
    required: Iterable[str] = (),
    allowed: Iterable[str] | None = None,
    context: str = "response",
) -> None:
    """Fast check without a schema: every ``required`` dotted field is present and, when
    ``allowed`` is given, the top-level object has no other fields."""
    problems = [
        (json_path(_split(f)), "required field is missing")
        for f in required
        if is_missing(lookup(data, f))
    ]
    if allowed is not None:
        if not isinstance(data, Mapping):
            problems.append(("$", f"expected a JSON object, got {type(data).__name__}"))
        else:
            permitted = set(allowed)
            problems += [
                (json_path([k]), f"unexpected field (allowed: {', '.join(sorted(permitted))})")
                for k in data
                if k not in permitted
            ]
    if problems:
        raise validation_error(f"{context} has wrong fields", problems)


def _split(dotted: str) -> list[Any]:
    parts: list[Any] = []
    for raw in dotted.replace("]", "").replace("[", ".").split("."):
        if raw and raw != "$":
            parts.append(int(raw) if raw.lstrip("-").isdigit() else raw)
    return parts
