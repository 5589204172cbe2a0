"""Real behave runs: quarantine announcement, step definitions resolved in the first run
(own steps, a parse type torn down in after_all, qhub's step library), run status."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

ENV = """
from qhub.behave import install

import steps_state


def before_all(context):
    install(context)
    steps_state.COLOURS.update({"red": 1, "blue": 2})


def after_all(context):
    steps_state.COLOURS.clear()  # torn down like a real fixture
"""

STATE = """
COLOURS = {}
"""

STEPS = """
import parse
from behave import given, register_type, then

import steps_state
from qhub.steps import *  # noqa: F401,F403  (library steps register on import)


@parse.with_pattern(r"[a-z]+")
def colour(text):
    return steps_state.COLOURS[text]  # only valid while the run is live


register_type(Colour=colour)


@given("the colour {c:Colour}")
def given_colour(context, c):
    context.c = c


@then("the colour code is {n:d}")
def then_code(context, n):
    assert context.c == n
"""

FEATURE = """
Feature: colours
  Scenario: red
    Given the colour red
    Then the colour code is 1
    Given 2 cached users as "crew"
    Then the cached "crew" data has 2 records

  Scenario: blue
    Given the colour blue
    Then the colour code is 2
"""


def _project(root: Path, env: str = ENV) -> Path:
    (root / "features/steps").mkdir(parents=True)
    (root / "features/environment.py").write_text(textwrap.dedent(env))
    (root / "features/steps/steps_state.py").write_text(STATE)
    (root / "features/steps/colour_steps.py").write_text(textwrap.dedent(STEPS))
    (root / "features/colours.feature").write_text(textwrap.dedent(FEATURE))
    (root / "qhub.json").write_text(json.dumps({"report": {"formats": ["json"]}}))
    return root


def _report(root: Path) -> dict[str, Any]:
    return json.loads((root / "reports/qhub-report.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["install", "runner"])
def test_first_run_resolves_every_definition(tmp_path: Path, behave_run: Any, mode: str) -> None:
    """No step lands in "(undefined step)" in a project's very first run, including a
    definition whose parse type only works while the run is live and qhub's library steps."""
    env = ENV if mode == "install" else ENV.replace("    install(context)\n", "")
    root = _project(tmp_path, env)
    args = ["--runner=qhub.behave:Runner"] if mode == "runner" else []
    result = behave_run(root, *args, env={"PYTHONPATH": str(root / "features/steps")})
    assert result.returncode == 0, result.output
    rows = {r["location"]: r for r in _report(root)["step_definitions"]}
    assert not any(k.startswith("<undefined>") for k in rows), rows
    colour = rows["features/steps/colour_steps.py:17"]
    assert (colour["count"], colour["pattern"]) == (2, "the colour {c:Colour}")
    assert colour["key"] == "features/steps/colour_steps.py::given::the colour {c:Colour}"
    assert rows["features/steps/colour_steps.py:22"]["count"] == 2
    library = {k: r for k, r in rows.items() if k.split(":")[0].endswith("qhub/steps/data.py")}
    assert sorted(r["pattern"] for r in library.values()) == [
        'the cached "{key}" data has {n:d} records',
        '{n:d} cached users as "{key}"',
    ]
    assert sum(r["count"] for r in rows.values()) == 6


def test_status_passed_without_after_all_hook(tmp_path: Path, behave_run: Any) -> None:
    """A complete run whose environment.py has no after_all is "passed", not "interrupted";
    before_scenario time still lands on its scenario."""
    env = """
    import time
    from qhub.behave import install

    import steps_state


    def before_all(context):
        install(context)
        steps_state.COLOURS.update({"red": 1, "blue": 2})


    def before_scenario(context, scenario):
        time.sleep(0.02)
    """
    root = _project(tmp_path, env)
    result = behave_run(root, env={"PYTHONPATH": str(root / "features/steps")})
    assert result.returncode == 0, result.output
    report = _report(root)
    assert report["run"]["status"] == "passed"
    assert [s["hooks_ms"] >= 20 for s in report["scenarios"]] == [True, True]


def test_corrupt_history_announced_once(tmp_path: Path, behave_run: Any) -> None:
    """A garbage history database: the run passes, stderr has exactly one warning line
    naming the database and where it went, and the run is recorded in a fresh database."""
    root = _project(tmp_path)
    env = {"PYTHONPATH": str(root / "features/steps")}
    (root / ".qhub").mkdir()
    (root / ".qhub/history.db").write_bytes(b"not a database at all " * 200)
    result = behave_run(root, env=env)
    assert result.returncode == 0, result.output
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("qhub: warning:")]
    assert len(warnings) == 1, result.stderr
    assert re.fullmatch(
        r"qhub: warning: run history \.qhub/history\.db was damaged \(file is not a database\);"
        r" moved to \.qhub/history\.db\.corrupt-\d{8}T\d{6}-\d+-0; starting a new one",
        warnings[0],
    ), warnings[0]
    assert "history.db" not in result.stdout
    assert len(list((root / ".qhub").glob("history.db.corrupt-*"))) == 1
    assert _report(root)["run"]["status"] == "passed"
