"""Text passed to ``context.execute_steps(...)``, read statically as a template.

Constants, f-strings, ``"...".format(...)``, ``"..." % (...)``, concatenation, local or
module-level names bound to such text, ``textwrap.dedent``/``.strip()`` and
``"\\n".join([...])`` are understood; every value that is only known at run time becomes a
wildcard. Anything else makes the call unresolved (the unused-step rule then stays quiet
rather than guess).
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Callable

from qhub._record import frozen_record

WILDCARD = "\x00"
"""Stands for a value known only at run time inside a template's text."""
_PERCENT = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
_MAX_DEPTH = 12
_MAX_ALTERNATIVES = 16


@frozen_record(slots=False)
class Template:
    """One ``execute_steps`` text; :data:`WILDCARD` marks run-time values."""

    line: int
    text: str

    @property
    def dynamic(self) -> bool:
        return WILDCARD in self.text


Lookup = Callable[[str], "list[ast.expr] | None"]


class _Unresolved(Exception):
    pass


class TemplateBuilder:
    """Turns the argument of one ``execute_steps`` call into template text."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def build(self, node: ast.expr, line: int) -> Template | None:
        """The template, or None when the text cannot be read statically.

        A name bound to different texts (``if``/``else``) yields its first resolvable
        alternatives joined as separate steps blocks.
        """
        try:
            options = self.texts(node, 0)
        except (_Unresolved, RecursionError):
            return None
        return Template(line, "\n".join(options))

    def texts(self, node: ast.expr, depth: int) -> list[str]:
        if depth > _MAX_DEPTH:
            raise _Unresolved
        d = depth + 1
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            return [self.fstring(node, d)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.combine(self.texts(node.left, d), self.texts(node.right, d))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return [_PERCENT.sub(lambda m: "%" if m.group(0) == "%%" else WILDCARD, t)
                    for t in self.texts(node.left, d)]
        if isinstance(node, ast.Name):
            values = self.lookup(node.id)
            if not values:
                raise _Unresolved
            out: list[str] = []
            for value in values[:_MAX_ALTERNATIVES]:
                out.extend(self.texts(value, d))
            return out[:_MAX_ALTERNATIVES]
        if isinstance(node, ast.Call):
            return self.call(node, d)
        raise _Unresolved

    def fstring(self, node: ast.JoinedStr, depth: int) -> str:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append(WILDCARD)
        return "".join(parts)

    def call(self, node: ast.Call, depth: int) -> list[str]:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr == "format":
                return [_format_fields(t) for t in self.texts(func.value, depth)]
            if func.attr in ("strip", "lstrip", "rstrip") and not node.args:
                return self.texts(func.value, depth)
            if func.attr == "join" and len(node.args) == 1:
                sep = self.texts(func.value, depth)
                items = node.args[0]
                if len(sep) == 1 and isinstance(items, (ast.List, ast.Tuple)):
                    joined = [""]
                    for i, item in enumerate(items.elts):
                        if i:
                            joined = self.combine(joined, sep)
                        joined = self.combine(joined, self.texts(item, depth))
                    return joined
        name = ""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = f"{func.value.id}.{func.attr}"
        elif isinstance(func, ast.Name):
            name = func.id
        if name in ("textwrap.dedent", "dedent", "inspect.cleandoc", "cleandoc", "str") and (
            len(node.args) == 1
        ):
            return self.texts(node.args[0], depth)
        raise _Unresolved

    @staticmethod
    def combine(left: list[str], right: list[str]) -> list[str]:
        return [a + b for a in left for b in right][:_MAX_ALTERNATIVES]


def _format_fields(text: str) -> str:
    """``"a {} b {x!r:>3}"`` -> ``"a \\0 b \\0"``; ``{{``/``}}`` become braces."""
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError:
        raise _Unresolved from None
    out: list[str] = []
    for literal, field, _spec, _conv in pieces:
        out.append(literal)
        if field is not None:
            out.append(WILDCARD)
    return "".join(out)
