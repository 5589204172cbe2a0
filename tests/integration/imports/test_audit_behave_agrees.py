"""What the audit calls ambiguous is what real behave rejects at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qhub.imports import run_audit

A = 'from behave import given\n\n\n@given("I have {n:d} apples")\ndef a(context, n):\n    pass\n'
B = 'from behave import given\n\n\n@given("I have 3 apples")\ndef b(context):\n    pass\n'


def test_ambiguous_step_matches_behave(tmp_path: Path, behave_run: Any) -> None:
    steps = tmp_path / "features" / "steps"
    steps.mkdir(parents=True)
    (steps / "a_steps.py").write_text(A)
    (steps / "b_steps.py").write_text(B)
    (tmp_path / "features" / "x.feature").write_text(
        "Feature: x\n  Scenario: s\n    Given I have 2 apples\n")
    result = run_audit([], root=tmp_path, select=["QH201"], measure=False)
    assert [(f.location.path, f.location.line) for f in result.findings] == [
        ("features/steps/b_steps.py", 4)]
    run = behave_run(tmp_path, "--dry-run")
    assert run.returncode != 0
    assert "AmbiguousStep" in run.output
    assert "@given('I have 3 apples') has already been defined" in run.output
    assert "existing step @given('I have {n:d} apples') at features/steps/a_steps.py:4" in (
        run.output)
    # after removing the clash behave loads fine and the audit is clean
    (steps / "b_steps.py").write_text(B.replace("I have 3 apples", "I own 3 apples"))
    assert behave_run(tmp_path, "--dry-run").returncode == 0
    assert run_audit([], root=tmp_path, select=["QH201"], measure=False).findings == []
