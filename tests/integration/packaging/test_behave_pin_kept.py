"""Installing qhub never moves a project's behave pin inside the supported range."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
@pytest.mark.parametrize("pinned", ["1.2.6"])
def test_pip_keeps_pinned_behave(pinned: str, tmp_path: Path) -> None:
    """A venv with behave==1.2.6 (installed first, as a pinned project has it), then
    ``pip install qhub``: pip's resolver plans no change to behave."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", f"behave=={pinned}"], check=True, timeout=600)
    report = tmp_path / "report.json"
    subprocess.run(
        [*pip, "install", "--dry-run", "--report", str(report), str(REPO_ROOT)],
        check=True,
        timeout=900,
    )
    planned = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert "qhub" in planned
    assert "behave" not in planned, f"pip would change behave {pinned} to {planned['behave']}"
