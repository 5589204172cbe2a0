"""Each suite of the field corpus gives exactly its expected findings, runs no project code,
and reports the behave version whose semantics it applied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "audit" / "suites"
NAMES = sorted(p.name for p in SUITES.iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("name", NAMES)
def test_exact_findings(name: str, audit_suite: Callable[..., Any], corpus: Any) -> None:
    project, result = audit_suite(name)
    assert result.code in (0, 1), result.stderr
    assert result.findings == corpus.findings(name), result.stdout
    report = result.report
    import behave

    assert report["interpreter"]["behave"] == behave.__version__
    assert not list(project.rglob("*.imported")), "the audit executed project code"
    worst = max((f["severity"] for f in report["findings"]), default=None,
                key=["info", "warning", "error"].index)
    assert result.code == (1 if worst == "error" else 0)


def test_a_line_is_never_reported_twice(audit_suite: Callable[..., Any]) -> None:
    _project, result = audit_suite("hygiene")
    lines = [(f["path"], f["line"]) for f in result.report["findings"]]
    assert len(lines) == len(set(lines))
