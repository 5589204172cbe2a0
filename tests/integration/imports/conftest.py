"""A generated corpus of step files with planted import problems, audited for real.

The heavy module sleeps at import time and lives outside the project, on the measuring
subprocess's path (``extra_path``), so the audit times it like any installed package.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SLOW_MODULE = '''"""Generated: slow to import on purpose."""
import time

time.sleep({sleep})
VALUE = 1
__all__ = ["work"]


def work():
    return VALUE
'''

FAIL_MODULE = 'raise ImportError("planted failure")\n'

A_STEPS = '''import json
import slowmod
from behave import given, when, then


@given("a planted thing")
def step_given(context):
    context.value = slowmod.work()


@when("I use {n:d} things")
def step_when(context, n):
    context.n = n


@then("it is done")
def step_then(context):
    assert context.n
'''

B_STEPS = '''import os
import os
import slowmod
from slowmod import *
import failmod
import sys

sys.path.insert(0, os.path.dirname(__file__))
VALUE = slowmod.VALUE


@given("a planted thing")
def step_dup(context):
    for _ in range(2):
        import re
    return re, VALUE


@then("nobody uses this step")
def step_unused(context):
    return work(), failmod
'''

C_STEPS = '''import slowmod  # qhub: ignore[unused-import]
import json  # qhub: ignore[QH103]


@when("I call slowmod")
def step_call(context):
    slowmod.work()
'''

D_SIDE_EFFECT = '''import pathlib
pathlib.Path({marker!r}).write_text("executed")


@then("the side effect step")
def step_side(context):
    pass
'''

FEATURE = '''Feature: planted
  Scenario: one
    Given a planted thing
    When I use 2 things
    Then it is done
    When I call slowmod
    Then the side effect step
'''

EXPECTED = {
    ("steps/a_steps.py", 1, "QH103"),
    ("steps/a_steps.py", 2, "QH102"),
    ("steps/a_steps.py", 2, "QH105"),
    ("steps/b_steps.py", 2, "QH104"),
    ("steps/b_steps.py", 3, "QH101"),
    ("steps/b_steps.py", 4, "QH106"),
    ("steps/b_steps.py", 5, "QH100"),
    ("steps/b_steps.py", 8, "QH108"),
    ("steps/b_steps.py", 12, "QH201"),
    ("steps/b_steps.py", 15, "QH107"),
    ("steps/b_steps.py", 19, "QH202"),
    ("steps/c_steps.py", 1, "QH102"),
    ("steps/e_broken.py", 1, "QH001"),
    ("steps/f_latin1.py", 1, "QH002"),
    ("steps/g_empty.py", 1, "QH004"),
    ("steps/h_big.py", 1, "QH003"),
    ("steps/i_loop.py", 1, "QH002"),
}
"""Every planted problem of the corpus: (file, line, rule)."""


@dataclass
class Corpus:
    """A generated project plus the folder holding its importable third-party modules."""

    project: Path
    site: Path
    marker: Path

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.site)}


def write_site(site: Path, sleep: float = 0.08) -> None:
    site.mkdir(parents=True, exist_ok=True)
    (site / "slowmod.py").write_text(SLOW_MODULE.format(sleep=sleep))
    (site / "failmod.py").write_text(FAIL_MODULE)


def build_corpus(base: Path) -> Corpus:
    site = base / "site"
    project = base / "project"
    steps = project / "steps"
    (project / "features").mkdir(parents=True)
    steps.mkdir()
    write_site(site)
    marker = base / "side_effect.txt"
    (project / "environment.py").write_text(
        "import os\n\n\ndef before_all(context):\n    context.root = os.getcwd()\n"
    )
    (steps / "a_steps.py").write_text(A_STEPS)
    (steps / "b_steps.py").write_text(B_STEPS)
    (steps / "c_steps.py").write_text(C_STEPS)
    (steps / "d_side_effect.py").write_text(D_SIDE_EFFECT.format(marker=str(marker)))
    (steps / "e_broken.py").write_text("def broken(:\n    pass\n")
    (steps / "f_latin1.py").write_bytes(b"NAME = '\xe9t\xe9'\n")
    (steps / "g_empty.py").write_text("")
    (steps / "h_big.py").write_text(("# padding " + "x" * 90 + "\n") * 52_000)
    os.symlink("i_loop.py", steps / "i_loop.py")
    nested = steps / "nested"
    nested.mkdir()
    (nested / "n_steps.py").write_text('import json\n\n\n@given("nested only")\n'
                                       "def step_nested(context):\n    pass\n")
    (project / "features" / "planted.feature").write_text(FEATURE)
    return Corpus(project, site, marker)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The planted corpus, shared by a module's tests (read-only)."""
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def make_corpus(tmp_path: Path) -> Callable[[], Corpus]:
    """A fresh corpus in this test's tmp_path (for tests that change files)."""
    return lambda: build_corpus(tmp_path)


@pytest.fixture
def expected_findings() -> set[tuple[str, int, str]]:
    """:data:`EXPECTED`, for test modules (conftest is not importable by name)."""
    return set(EXPECTED)


@pytest.fixture
def corpus_builder() -> Callable[[Path], Corpus]:
    """:func:`build_corpus`: ``corpus_builder(folder)`` writes a fresh corpus there."""
    return build_corpus
