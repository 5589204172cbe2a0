"""sys.path edits evaluated statically, or honestly not understood."""

from __future__ import annotations

import ast

import pytest

from qhub.audit.facts import PathEdit
from qhub.audit.pathexpr import PathContext, depends_on_cwd, edit_paths, evaluate

FILE = "/proj/features/environment.py"


def ctx(names: dict[str, str] | None = None) -> PathContext:
    parsed = {k: ast.parse(v, mode="eval").body for k, v in (names or {}).items()}
    return PathContext(file=FILE, cwd="/proj", lookup=lambda name, line: parsed.get(name))


@pytest.mark.parametrize(("expr", "path"), [
    ("os.path.join(os.path.dirname(__file__), '..')", "/proj"),
    ("os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, 'lib'))", "/proj/lib"),
    ("str(Path(__file__).parent.parent / 'src')", "/proj/src"),
    ("Path(__file__).resolve().parents[1]", "/proj"),
    ("'lib'", "/proj/lib"),
    ("os.getcwd() + '/x'", "/proj/x"),
    ("BASE", "/proj/features"),
])
def test_evaluates(expr: str, path: str) -> None:
    node = ast.parse(expr, mode="eval").body
    assert evaluate(node, ctx({"BASE": "os.path.dirname(__file__)"})) == path


@pytest.mark.parametrize("expr", ["os.environ['X']", "get_root()", "UNKNOWN", "Path.home()"])
def test_not_understood(expr: str) -> None:
    assert evaluate(ast.parse(expr, mode="eval").body, ctx()) is None


def test_edits() -> None:
    def edit(src: str, op: str) -> tuple[str, list[str]] | None:
        call = ast.parse(src, mode="eval").body
        args = call.args if isinstance(call, ast.Call) else [call]
        return edit_paths(PathEdit(1, op, list(args), src), ctx())

    assert edit("sys.path.insert(0, 'a')", "insert") == ("front", ["/proj/a"])
    assert edit("sys.path.append('a')", "append") == ("back", ["/proj/a"])
    assert edit("sys.path.extend(['a', 'b'])", "extend") == ("back", ["/proj/a", "/proj/b"])
    assert edit("['a'] + sys.path", "assign") == ("front", ["/proj/a"])
    assert edit("sys.path.append(os.environ['X'])", "append") is None
    assert depends_on_cwd(PathEdit(1, "append", [ast.Constant("lib")], ""))
    assert not depends_on_cwd(PathEdit(1, "append", [ast.Name("__file__")], ""))
