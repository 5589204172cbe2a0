"""Progress on a terminal, step-oracle helpers, and the fixes' planning."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from qhub.audit import progress
from qhub.audit.fixes import FilePlan, plan_file, write
from qhub.audit.model import Finding, Location, Severity, natural_key
from qhub.audit.steporacle import _prefix, _skeleton
from qhub.exceptions import AuditError


def test_progress_waits_a_second_then_rewrites_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    p = progress.Progress(True, stream)
    p.update("early")
    assert stream.getvalue() == ""
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    p.count("measuring imports", 3, 10)
    p.close()
    assert stream.getvalue() == "\rqhub audit: measuring imports 3/10\x1b[K\r\x1b[K"
    assert not progress.Progress(None, io.StringIO()).enabled  # not a terminal


def test_natural_key() -> None:
    names = ["s10.py", "s2.py", "s1.py", "S3.py"]
    assert sorted(names, key=natural_key) == ["S3.py", "s1.py", "s2.py", "s10.py"]


@pytest.mark.parametrize(("pattern", "kind", "prefix"), [
    ("I have {n:d} apples", "parse", "i have "),
    ("^I (?:do|don't) (.+)$", "re0", ""),
    ("I am here", "re", "i am here"),
    ("colou?r {x}", "re", "colo"),
    ("I have {int} cucumber(s)", "cucumber_expressions", "i have "),
    ("I am full/satisfied", "cucumber_expressions", "i am "),
    ("Über {x}", "parse", ""),
])
def test_literal_prefix(pattern: str, kind: str, prefix: str) -> None:
    assert _prefix(pattern, kind) == prefix


def test_skeleton() -> None:
    assert _skeleton("I buy {n:d} {things}", "parse") == "I buy W W"
    assert _skeleton("I have {int} cucumber(s)", "cucumber_expressions") == "I have W cucumbers"


def _finding(line: int, owners: list[int], names: list[str]) -> Finding:
    return Finding("QH102", "lazy-candidate", Severity.WARNING, Location("s.py", line), "m", "s",
                   module="faker", data={"targets": owners, "names": names})


def test_plan_moves_into_functions_after_docstring(tmp_path: Path) -> None:
    f = tmp_path / "s.py"
    f.write_text('import faker\nimport os\n\n\ndef step(context):\n    """Doc."""\n'
                 "    return faker, os\n")
    plan = plan_file("s.py", f, [_finding(1, [5], ["faker"])])
    assert plan.new == ('import os\n\n\ndef step(context):\n    """Doc."""\n'
                        "    import faker\n    return faker, os\n")
    shared = tmp_path / "t.py"
    shared.write_text("import faker; X = 1\n\n\ndef step(context):\n    return faker\n")
    skipped = plan_file("t.py", shared, [_finding(1, [4], ["faker"])])
    assert skipped.new == skipped.old and "not movable" in skipped.skipped[0]


def test_write_refuses_files_changed_since_the_audit(tmp_path: Path) -> None:
    f = tmp_path / "s.py"
    f.write_text("old\n")
    plan = FilePlan("s.py", f, "older\n", "new\n")
    with pytest.raises(AuditError, match="changed since the audit read it"):
        write([plan])
    assert f.read_text() == "old\n"
