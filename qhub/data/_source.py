"""Read a YAML or JSON template file into plain data plus a line number for every key.

Line numbers let template errors point at ``file:line``. JSON is checked with :mod:`json`
first (its own error positions), then composed with PyYAML for key positions.

Parsing is bounded (:mod:`qhub._bounded`): a YAML document whose aliases expand past
:data:`MAX_NODES` values (an alias bomb) or that nests deeper than :data:`MAX_DEPTH` is
refused before it is built, with a one-line ``TemplateError``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from qhub._bounded import InputLimitError, check_depth, yaml_compose, yaml_construct
from qhub.data._text import one_line
from qhub.exceptions import TemplateError

MAX_NODES = 200_000
"""Values one template document may expand to, YAML aliases included."""
MAX_DEPTH = 64
"""Nesting levels one template document may have."""

Path_ = tuple[str | int, ...]
"""Position inside a document: keys and list indexes from the root."""


class Source:
    """One parsed template file: its data and where each key sits."""

    def __init__(self, name: str, data: Any, lines: dict[Path_, int]) -> None:
        self.name = name
        self.data = data
        self._lines = lines

    def line(self, path: Path_) -> int:
        """Line of ``path`` (or of its nearest ancestor that has one); 1 if unknown."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return 1

    def error(self, path: Path_, what: str, problem: str) -> TemplateError:
        """``TemplateError("file:line: what: problem")`` for the key at ``path``."""
        return TemplateError(one_line(f"{self.name}:{self.line(path)}: {what}: {problem}"))


def parse(name: str, text: str, *, is_json: bool) -> Source:
    """Parse ``text`` (the content of file ``name``); raises TemplateError with a line.

    JSON data comes from :mod:`json` (PyYAML would split ``\\ud83d\\ude00`` escapes into
    lone surrogates); PyYAML then only supplies the key lines, best effort.
    """
    if is_json:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _malformed(name, exc.lineno, "JSON", exc.msg) from None
        except RecursionError:
            raise _malformed(name, 1, "JSON", "nested too deeply") from None
        try:
            check_depth(data, MAX_DEPTH)
        except InputLimitError as exc:
            raise _malformed(name, 1, "JSON", str(exc)) from None
        try:
            lines = _compose(name, text, construct=False)[1]
        except TemplateError:
            lines = {}
    else:
        data, lines = _compose(name, text, construct=True)
    try:
        return Source(name, _jsonable(data, name, lines), lines)
    except RecursionError:
        raise _malformed(name, 1, "JSON" if is_json else "YAML", "nested too deeply") from None


def _compose(name: str, text: str, *, construct: bool) -> tuple[Any, dict[Path_, int]]:
    """PyYAML's data (when ``construct``) and the line of every key; TemplateError if bad."""
    import yaml

    try:
        # reading the text already scans it for unprintable characters (ReaderError), so it
        # belongs inside the ``try``; the limits are checked on the node graph, before
        # anything is constructed
        node = yaml_compose(text, max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        data = yaml_construct(node) if construct and node is not None else None
        lines: dict[Path_, int] = {}
        if node is not None:
            _collect_lines(node, (), lines)
    except InputLimitError as exc:
        raise _malformed(name, 1, "YAML", str(exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character
        what = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        raise _malformed(name, line, "YAML", f"unacceptable character {what}: {exc.reason}"
                         ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "malformed YAML"
        raise _malformed(name, line, "YAML", problem) from None
    except yaml.YAMLError as exc:
        raise _malformed(name, 1, "YAML", str(exc)) from None
    except RecursionError:
        raise _malformed(name, 1, "YAML", "nested too deeply") from None
    return data, lines


def _malformed(name: str, line: int, syntax: str, problem: str) -> TemplateError:
    return TemplateError(one_line(f"{name}:{line}: malformed {syntax}: {problem}"))


def _collect_lines(node: Any, path: Path_, out: dict[Path_, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            out[child] = key_node.start_mark.line + 1
            _collect_lines(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            out[child] = item.start_mark.line + 1
            _collect_lines(item, child, out)


def _jsonable(value: Any, name: str, lines: dict[Path_, int], path: Path_ = ()) -> Any:
    """YAML values as JSON-compatible data: dates become ISO strings; keys become strings."""
    if isinstance(value, dict):
        return {
            _text(str(k), name, lines, path): _jsonable(v, name, lines, (*path, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_jsonable(v, name, lines, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str):
        return _text(value, name, lines, path)
    if value is None or isinstance(value, (int, float, bool)):
        return value
    line = Source(name, None, lines).line(path)
    raise TemplateError(
        one_line(f"{name}:{line}: value of type {type(value).__name__} is not JSON-compatible")
    )


def _text(value: str, name: str, lines: dict[Path_, int], path: Path_) -> str:
    """``value`` if it is valid Unicode text (no lone surrogates, which UTF-8 cannot hold)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            line = Source(name, None, lines).line(path)
            bad = value[exc.start : exc.end]
            raise TemplateError(
                one_line(f"{name}:{line}: text {bad!r} is not valid Unicode (lone surrogate)")
            ) from None
    return value
