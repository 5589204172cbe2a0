"""Evaluate the path expressions suites pass to ``sys.path.insert/append`` - statically.

Understood: string constants, ``__file__``, ``os.getcwd()``, ``os.path.join/dirname/
abspath/realpath/normpath``, ``os.pardir``/``os.curdir``/``os.sep``, ``pathlib.Path(...)``
with ``.parent``, ``.parents[n]``, ``.resolve()``, ``.absolute()``, ``/``, ``str()`` and
``os.fspath()``, and module-level names bound to such expressions earlier in the file.
Anything else is "not understood" (None), and the audit says so instead of guessing.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import dataclass

from qhub._record import frozen_record
from qhub.audit.facts import PathEdit, callee

_MAX_DEPTH = 16


class _Unknown(Exception):
    pass


@dataclass
class PathContext:
    """What an expression in one file can refer to."""

    file: str
    """Absolute path of the file (``__file__``)."""
    cwd: str
    """behave's working folder (the project root)."""
    lookup: Callable[[str, int], ast.expr | None]
    """Module-level value of a name bound before a line, if any."""
    line: int = 0


def evaluate(node: ast.expr, ctx: PathContext) -> str | None:
    """The absolute, normalised path ``node`` evaluates to, or None when not understood."""
    try:
        value = _eval(node, ctx, 0)
    except (_Unknown, RecursionError, ValueError, TypeError):
        return None
    if isinstance(value, _PathValue):
        value = value.path
    if not isinstance(value, str):
        return None
    return os.path.normpath(os.path.join(ctx.cwd, value))


def edit_paths(edit: PathEdit, ctx: PathContext) -> tuple[str, list[str]] | None:
    """``("front"|"back", paths)`` for one ``sys.path`` edit, or None when not understood."""
    args = edit.args
    ctx.line = edit.line
    if edit.op == "insert" and len(args) == 2:
        index = args[0]
        where = "front" if isinstance(index, ast.Constant) and index.value == 0 else "back"
        if isinstance(index, ast.Constant) and isinstance(index.value, int) and index.value < 0:
            where = "back"
        path = evaluate(args[1], ctx)
        return (where, [path]) if path else None
    if edit.op in ("append", "addsitedir") and len(args) == 1:
        path = evaluate(args[0], ctx)
        return ("back", [path]) if path else None
    if edit.op == "extend" and len(args) == 1:
        return _list("back", args[0], ctx)
    if edit.op == "slice" and len(args) == 1:
        return _list("front", args[0], ctx)
    if edit.op == "assign" and len(args) == 1 and isinstance(args[0], ast.BinOp):
        left, right = args[0].left, args[0].right
        if callee(right) == "sys.path":
            return _list("front", left, ctx)
        if callee(left) == "sys.path":
            return _list("back", right, ctx)
    return None


def _list(where: str, node: ast.expr, ctx: PathContext) -> tuple[str, list[str]] | None:
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    out: list[str] = []
    for elt in node.elts:
        path = evaluate(elt, ctx)
        if path is None:
            return None
        out.append(path)
    return where, out


def _eval(node: ast.expr, ctx: PathContext, depth: int) -> object:
    if depth > _MAX_DEPTH:
        raise _Unknown
    d = depth + 1
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id == "__file__":
            return ctx.file
        bound = ctx.lookup(node.id, ctx.line)
        if bound is None:
            raise _Unknown
        return _eval(bound, ctx, d)
    name = callee(node) if isinstance(node, ast.Attribute) else ""
    if name in ("os.pardir", "os.path.pardir"):
        return os.pardir
    if name in ("os.curdir", "os.path.curdir"):
        return os.curdir
    if name in ("os.sep", "os.path.sep"):
        return os.sep
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, ctx, d)
        if node.attr == "parent" and isinstance(base, _PathValue):
            return _PathValue(os.path.dirname(base.path))
        raise _Unknown
    if isinstance(node, ast.Subscript):
        base_node = node.value
        if isinstance(base_node, ast.Attribute) and base_node.attr == "parents":
            base = _eval(base_node.value, ctx, d)
            index = _eval(node.slice, ctx, d)
            if isinstance(base, _PathValue) and isinstance(index, int) and index >= 0:
                path = base.path
                for _ in range(index + 1):
                    path = os.path.dirname(path)
                return _PathValue(path)
        raise _Unknown
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, ctx, d), _eval(node.right, ctx, d)
        if isinstance(node.op, ast.Div) and isinstance(left, _PathValue):
            return _PathValue(os.path.join(left.path, _text(right)))
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            return left + right
        raise _Unknown
    if isinstance(node, ast.Call):
        return _call(node, ctx, d)
    raise _Unknown


@frozen_record(slots=False)
class _PathValue:
    path: str


def _text(value: object) -> str:
    if isinstance(value, _PathValue):
        return value.path
    if isinstance(value, str):
        return value
    raise _Unknown


def _call(node: ast.Call, ctx: PathContext, depth: int) -> object:
    func = node.func
    if node.keywords:
        raise _Unknown
    args = [_eval(a, ctx, depth) for a in node.args]
    name = callee(func)
    if name in ("os.path.join", "path.join", "join"):
        return os.path.join(*[_text(a) for a in args])
    if name in ("os.path.dirname", "path.dirname", "dirname") and len(args) == 1:
        return os.path.dirname(_text(args[0]))
    if name in ("os.path.abspath", "os.path.realpath", "os.path.normpath", "abspath",
                "realpath", "normpath") and len(args) == 1:
        return os.path.normpath(os.path.join(ctx.cwd, _text(args[0])))
    if name in ("os.getcwd", "getcwd") and not args:
        return ctx.cwd
    if name in ("str", "os.fspath") and len(args) == 1:
        return _text(args[0])
    if name in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath"):
        parts = [_text(a) for a in args] or ["."]
        return _PathValue(os.path.join(*parts))
    if name in ("Path.cwd", "pathlib.Path.cwd") and not args:
        return _PathValue(ctx.cwd)
    if isinstance(func, ast.Attribute) and func.attr in ("resolve", "absolute") and not args:
        base = _eval(func.value, ctx, depth)
        if isinstance(base, _PathValue):
            return _PathValue(os.path.normpath(os.path.join(ctx.cwd, base.path)))
    if isinstance(func, ast.Attribute) and func.attr == "joinpath":
        base = _eval(func.value, ctx, depth)
        if isinstance(base, _PathValue):
            return _PathValue(os.path.join(base.path, *[_text(a) for a in args]))
    raise _Unknown


def depends_on_cwd(edit: PathEdit) -> bool:
    """Whether the edit's paths are relative to the working folder (not to ``__file__``)."""
    for arg in edit.args:
        for node in ast.walk(arg):
            if isinstance(node, ast.Name) and node.id == "__file__":
                return False
    return True
