"""The layering in docs/architecture.md holds: no cycles between modules of one package.

The layers themselves (no import runs upward) are import-linter contracts in
pyproject.toml, checked by ``lint-imports`` in CI; this test adds what a layers contract
cannot say: inside each subsystem, module imports form no cycle. Type-checking-only
imports count: a helper that names its owner's class in a signature depends on it.
"""

from __future__ import annotations

import grimp
import pytest

# cache_dir=None: grimp would otherwise write a cache folder into the checkout
GRAPH = grimp.build_graph("qhub", exclude_type_checking_imports=False, cache_dir=None)
PACKAGES = sorted(
    name
    for name in GRAPH.find_children("qhub")
    if not name.rsplit(".", 1)[1].startswith("_") and name != "qhub.exceptions"
)


def _cycles(package: str) -> list[list[str]]:
    """Strongly connected components (size > 1) of ``package``'s internal import graph."""
    graph = GRAPH
    modules = {m for m in graph.find_descendants(package)}
    edges = {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t in modules}
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_inside(package: str) -> None:
    assert _cycles(package) == []
