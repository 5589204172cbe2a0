"""``--diff`` / ``--write`` move lazy-candidate imports; real behave still runs the suite,
and no longer imports the heavy module while loading steps."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from qhub.cli import main

X_STEPS = '''"""Steps that use a slow module in one place each."""
import json
import slowmod
from slowmod import work as do_work
from behave import given, then


@given("the value is computed")
def step_compute(context):
    """Compute once."""
    context.value = slowmod.work()


@then("the value is {n:d}")
def step_check(context, n):
    assert do_work() == n == context.value, json.dumps(n)
'''

Y_STEPS = '''import slowmod


@then("the slow module is reachable")
def step_reach(context): assert slowmod.VALUE == 1


@then("it is still reachable")
def step_again(context):
    assert slowmod.work() == 1
'''

ENVIRONMENT = '''import atexit
import json
import os
import sys


@atexit.register
def _record_modules():
    # runs at exit, after behave loaded (and maybe ran) every step module
    with open(os.environ["QHUB_TEST_MODULES"], "w") as fh:
        json.dump(sorted(sys.modules), fh)
'''

FEATURE = '''Feature: lazy
  Scenario: compute
    Given the value is computed
    Then the value is 1
    And it is still reachable
'''


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "slowmod.py").write_text(
        "import time\ntime.sleep(0.06)\nVALUE = 1\n\n\ndef work():\n    return VALUE\n")
    project = tmp_path / "project"
    (project / "features" / "steps").mkdir(parents=True)
    (project / "features" / "steps" / "x_steps.py").write_text(X_STEPS)
    (project / "features" / "steps" / "y_steps.py").write_text(Y_STEPS)
    (project / "features" / "environment.py").write_text(ENVIRONMENT)
    (project / "features" / "lazy.feature").write_text(FEATURE)
    monkeypatch.chdir(project)
    monkeypatch.setenv("PYTHONPATH", str(site))
    return project


def _loaded_modules(behave_run: Any, project: Path, tmp: Path, *args: str) -> list[str]:
    out = tmp / "modules.json"
    result = behave_run(project, *args, env={"QHUB_TEST_MODULES": str(out),
                                             "PYTHONPATH": str(project.parent / "site")})
    assert result.returncode == 0, result.output
    assert "1 scenario passed" in result.output or "1 untested" in result.output, result.output
    assert "undefined" not in result.output.replace("0 undefined", "")
    return list(json.loads(out.read_text()))


class TestDiff:
    """The diff moves exactly the lazy candidates, and --write applies it."""

    def test_diff_only_prints(self, suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
        before = (suite / "features/steps/x_steps.py").read_text()
        code = main(["audit", "--diff", "--select", "QH102"])
        out, err = capsys.readouterr()
        assert code == 0
        assert (suite / "features/steps/x_steps.py").read_text() == before
        assert "-import slowmod\n" in out
        assert "-from slowmod import work as do_work\n" in out
        assert '     """Compute once."""\n+    import slowmod\n' in out
        assert "+    from slowmod import work as do_work\n" in out
        # y_steps.py: one step has an inline body, so that import cannot move
        assert "y_steps.py" not in out
        assert err == ""

    def test_write_then_behave_no_longer_loads_module(
        self, suite: Path, behave_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (suite / "features/steps/y_steps.py").write_text(
            Y_STEPS.replace("def step_reach(context): assert", "def step_reach(context):\n"
                            "    assert"))
        assert "slowmod" in _loaded_modules(behave_run, suite, tmp_path, "--dry-run")
        assert main(["audit", "--diff", "--write"]) == 0
        _out, err = capsys.readouterr()
        assert "moved 3 import(s) in 2 file(s)" in err
        for name in ("x_steps.py", "y_steps.py"):
            tree = ast.parse((suite / "features/steps" / name).read_text())
            top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert all("slowmod" not in ast.unparse(n) for n in top)
        assert "slowmod" not in _loaded_modules(behave_run, suite, tmp_path, "--dry-run")
        # the steps still work when run for real (they import slowmod when called)
        assert "slowmod" in _loaded_modules(behave_run, suite, tmp_path)
        rerun = main(["audit", "--select", "QH102", "--fail-on", "info"])
        assert rerun == 0
