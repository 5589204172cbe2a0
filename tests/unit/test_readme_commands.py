"""README's two set-up commands exist, and CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bash_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_first_two_commands_install_and_run() -> None:
    main_job, tests = bash_blocks()[:2]
    assert "pip install" in main_job and main_job.endswith("behave")
    assert tests == "./run-tests"
    script = (ROOT / "run-tests").read_text(encoding="utf-8")
    for package in ("redis-server", "chromium", "chromium-driver", "postgresql"):
        assert f"need+=({package})" in script
    assert "apt-get install" in script
    assert "pip install -q -e '.[test]'" in script
    assert "python -m pytest" in script


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = bash_blocks()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
