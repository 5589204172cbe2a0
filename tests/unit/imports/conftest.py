"""Generated importable modules for the lazy-loading and profiling tests."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_counter = itertools.count()


@pytest.fixture
def module_factory(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``module_factory(source) -> unique module name`` importable from tmp_path."""
    sys.path.insert(0, str(tmp_path))
    created: list[str] = []

    def make(source: str) -> str:
        name = f"qhub_gen_{next(_counter)}_{len(created)}"
        (tmp_path / f"{name}.py").write_text(source.replace("__NAME__", name))
        created.append(name)
        return name

    yield make
    sys.path.remove(str(tmp_path))
    for name in created:
        sys.modules.pop(name, None)
