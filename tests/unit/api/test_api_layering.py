"""The API package's structure, checked from its source: no import cycles between its
modules, and the client reaches the transport only through public names."""

from __future__ import annotations

import ast
from pathlib import Path

import qhub.api

PACKAGE = Path(qhub.api.__file__).parent


def _imports(path: Path) -> set[str]:
    """``qhub.api`` modules imported anywhere in ``path`` (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "qhub.api":
                found |= {f"qhub.api.{alias.name}" for alias in node.names
                          if (PACKAGE / f"{alias.name}.py").exists()}
            elif node.module.startswith("qhub.api."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qhub.api.")}
    return found


def _graph() -> dict[str, set[str]]:
    return {
        f"qhub.api.{path.stem}": _imports(path)
        for path in PACKAGE.glob("*.py")
        if path.stem != "__init__"
    }


class TestStructure:
    """What the redesign promised, checked where it can regress: the source."""

    def test_no_import_cycles_between_api_modules(self) -> None:
        graph = _graph()
        visiting: list[str] = []
        done: set[str] = set()

        def visit(module: str) -> None:
            if module in done:
                return
            assert module not in visiting, " -> ".join([*visiting, module])
            visiting.append(module)
            for target in sorted(graph.get(module, ())):
                visit(target)
            visiting.pop()
            done.add(module)

        for module in sorted(graph):
            visit(module)

    def test_warmup_does_not_know_the_client(self) -> None:
        assert "qhub.api.client" not in _imports(PACKAGE / "warmup.py")

    def test_client_uses_only_the_transports_public_surface(self) -> None:
        tree = ast.parse((PACKAGE / "client.py").read_text(encoding="utf-8"))
        private_modules = {"qhub.api._pools", "qhub.api._shortpath", "qhub.api._deadline",
                           "qhub.api._body", "qhub.api._errors"}
        assert not _imports(PACKAGE / "client.py") & private_modules
        pokes = [
            f"line {node.lineno}: .{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and "transport" in ast.unparse(node.value).lower()
        ]
        assert not pokes, pokes

    def test_the_short_path_is_used_in_one_place(self) -> None:
        users = sorted(
            path.stem for path in PACKAGE.glob("*.py")
            if "qhub.api._shortpath" in _imports(path)
        )
        assert users == ["transport"]
