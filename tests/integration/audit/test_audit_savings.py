"""Savings that come true: ``--diff --write`` removes exactly the modules the audit says.

A copy of the ``savings`` suite (heavy imports behind helper modules, imports shared by
several files, real installed packages and planted slow ones) is audited; ``--diff
--write`` is applied to a second copy; real ``behave --dry-run`` runs on both and reports
``sys.modules`` at its end. The modules that disappear must be exactly the ones the audit
predicted (``summary.saving_modules``), and nothing may appear. How many milliseconds that
saves is measured by ``bench/audit.py`` with ``-X importtime`` (timings are not asserted).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s+(\S.*?)\s*$")
_RUN = """
import sys
from behave.__main__ import main
status = main(["--dry-run", "--no-summary", "-f", "null"])
print("@@modules", " ".join(sorted(sys.modules)))
sys.exit(status)
"""


def behave_imports(project: Path, site: Path) -> set[str]:
    """Modules a real ``behave --dry-run`` of ``project`` imported: named by ``-X
    importtime`` (which also names failed attempts) and still in ``sys.modules`` at the end
    (which also holds aliases, such as ``requests.packages.*``)."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _RUN], cwd=project,
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("@@modules"))
    timed = {m.group(1).strip() for m in map(_LINE.match, proc.stderr.splitlines()) if m}
    return timed & set(line.split()[1:])


@pytest.mark.behave_matrix
def test_write_removes_exactly_the_predicted_modules(
    audit_suite: Callable[..., Any],
    run_audit_cli: Callable[..., Any],
    audit_site: Path,
    tmp_path: Path,
) -> None:
    project, result = audit_suite("savings")
    report = result.report
    predicted = set(report["summary"]["saving_modules"])
    assert predicted and report["summary"]["saving_ms"] > 0
    assert report["summary"]["saving_ms"] <= report["summary"]["total_load_ms"]
    after = tmp_path / "after" / "savings"
    shutil.copytree(project, after)
    written = run_audit_cli(after, "--threshold-ms", "20", "--diff", "--write")
    assert written.code == 0 and "moved 6 import(s) in 4 file(s)" in written.stderr, (
        written.stderr)
    again = run_audit_cli(after, "--threshold-ms", "20", "--format", "json")
    assert not [f for f in again.report["findings"] if f["rule"] == "QH102"]
    assert again.report["summary"]["saving_ms"] == 0

    before_modules = behave_imports(project, audit_site)
    after_modules = behave_imports(after, audit_site)
    assert after_modules <= before_modules
    assert before_modules - after_modules == predicted
    assert not list(project.rglob("*.imported")) and not list(after.rglob("*.imported"))
