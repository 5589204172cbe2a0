"""``qhub audit`` as users run it: exit codes, one-line errors, formats, fixes, progress."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qhub.audit.rules import RULES

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "sarif-2.1.0.schema.json"


class TestExitCodes:
    """0 clean, 1 findings at or above --fail-on, 2 for qhub's own errors."""

    def test_errors_fail_by_default_infos_do_not(self, audit_suite: Callable[..., Any]) -> None:
        _p, stacked = audit_suite("stacked")
        assert stacked.code == 1
        _p, infos = audit_suite("execute_steps")
        assert {f[2] for f in infos.findings} == {"QH202"} and infos.code == 0

    def test_fail_on_levels(self, copy_suite: Callable[[str], Path],
                            run_audit_cli: Callable[..., Any]) -> None:
        project = copy_suite("execute_steps")
        assert run_audit_cli(project, "--fail-on", "info").code == 1
        assert run_audit_cli(project, "--fail-on", "warning").code == 0

    @pytest.mark.parametrize(("argv", "needle"), [
        (["--threshold-ms", "-5"], "--threshold-ms must be between 0 and 600000, got -5.0"),
        (["--threshold-ms", "nan"], "--threshold-ms must be between"),
        (["--timeout", "0"], "--timeout must be between 0.1 and 3600, got 0.0"),
        (["--jobs", "-1"], "--jobs must be between 0 and 256, got -1"),
        (["--repeat", "0"], "--repeat must be between 1 and 50, got 0"),
        (["--target-version", "three"], "--target-version 'three' is not X.Y"),
        (["--target-version", "2.7"], "target version must be 3.X, got 2.7"),
        (["--select", "QH999"], "unknown rule 'QH999'"),
        (["--write"], "--write needs --diff"),
        (["no/such/path"], "path no/such/path does not exist"),
        (["--python", "no-such-python-3"], "interpreter 'no-such-python-3' not found"),
        (["--features", "nowhere"], "--features nowhere: no such file or folder"),
    ])
    def test_bad_input_is_one_line_and_exit_two(
        self, copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any],
        argv: list[str], needle: str,
    ) -> None:
        result = run_audit_cli(copy_suite("stacked"), *argv)
        assert result.code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qhub: error: ") and needle in lines[0]

    def test_internal_error_is_one_line_exit_two(
        self, copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from qhub.audit.rules import steps

        def broken(ctx: Any, emit: Any) -> None:
            raise AttributeError("'Rule' object has no attribute 'all_steps'")

        monkeypatch.setattr(steps, "check", broken)
        result = run_audit_cli(copy_suite("stacked"))
        assert result.code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "internal error AttributeError" in lines[0]


class TestFormats:
    """JSON (versioned), SARIF (validated against the OASIS schema), text."""

    def test_json(self, audit_suite: Callable[..., Any]) -> None:
        _p, result = audit_suite("savings")
        report = result.report
        assert report["schema"] == "qhub-audit/2"
        assert report["interpreter"]["behave"]
        summary = report["summary"]
        assert set(summary) >= {"files", "findings", "by_severity", "total_load_ms",
                                "saving_ms", "saving_modules"}
        by_path = {m["module"]: m for m in report["modules"]}
        requests = by_path["import requests"]
        assert requests["paid_by"] == {"path": "pages/home.py", "line": 1}
        assert [c["path"] for c in requests["chain"]] == ["features/steps/b_steps.py"]
        finding = next(f for f in report["findings"] if f["path"] == "pages/home.py")
        assert finding["chain"] == [{"path": "features/steps/b_steps.py", "line": 5}]
        assert "features/steps/b_steps.py:5 → pages/home.py:1 → requests" in finding["message"]

    def test_sarif_validates(self, copy_suite: Callable[[str], Path],
                             run_audit_cli: Callable[..., Any]) -> None:
        import jsonschema

        result = run_audit_cli(copy_suite("stacked"), "--format", "sarif")
        log = json.loads(result.stdout)
        jsonschema.validate(log, json.loads(SCHEMA.read_text()))
        run = log["runs"][0]
        assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {r.id for r in RULES}
        assert {r["ruleId"] for r in run["results"]} == {"QH201", "QH202"}
        assert run["results"][0]["relatedLocations"]

    def test_output_file_and_unwritable_output(
        self, copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any],
        tmp_path: Path,
    ) -> None:
        project = copy_suite("stacked")
        out = tmp_path / "audit.json"
        assert run_audit_cli(project, "--format", "json", "-o", str(out)).code == 1
        assert json.loads(out.read_text())["schema"] == "qhub-audit/2"
        bad = run_audit_cli(project, "-o", str(tmp_path / "missing" / "a.txt"))
        assert bad.code == 2 and len(bad.stderr.strip().splitlines()) == 1

    def test_text_sorts_files_naturally(self, tmp_path: Path,
                                        run_audit_cli: Callable[..., Any]) -> None:
        steps = tmp_path / "features" / "steps"
        steps.mkdir(parents=True)
        for n in (1, 10, 2, 11, 9):
            (steps / f"s{n}_steps.py").write_text(
                f'from behave import given\n\n\n@given("unused {n}")\ndef s(context):\n'
                "    pass\n")
        (tmp_path / "features" / "a.feature").write_text("Feature: a\n  Scenario: s\n")
        text = run_audit_cli(tmp_path, "--fail-on", "error").stdout
        order = [line for line in text.splitlines() if line.startswith("features/")]
        assert order == [f"features/steps/s{n}_steps.py" for n in (1, 2, 9, 10, 11)]

    def test_ruff_config_flags_heavy_imports(self, copy_suite: Callable[[str], Path],
                                             run_audit_cli: Callable[..., Any]) -> None:
        project = copy_suite("savings")
        emitted = run_audit_cli(project, "--threshold-ms", "20", "--emit", "ruff").stdout
        assert '"slowheavy"' in emitted and '"behave"' not in emitted
        (project / "ruff.toml").write_text(emitted.replace("[tool.ruff.lint", "[lint"))
        ruff = Path(sys.executable).with_name("ruff")
        proc = subprocess.run([str(ruff), "check", "--no-cache", "features/steps"],
                              cwd=project, capture_output=True, text=True, check=False)
        assert "TID253" in proc.stdout


class TestFixes:
    """--diff prints, --diff --write writes atomically or not at all."""

    def test_diff_prints_and_writes_nothing(self, copy_suite: Callable[[str], Path],
                                            run_audit_cli: Callable[..., Any]) -> None:
        project = copy_suite("savings")
        before = (project / "pages/home.py").read_text()
        result = run_audit_cli(project, "--threshold-ms", "20", "--diff")
        assert "+++ b/pages/home.py" in result.stdout and "+        import requests" in (
            result.stdout)
        assert (project / "pages/home.py").read_text() == before

    def test_write_keeps_permissions(self, copy_suite: Callable[[str], Path],
                                     run_audit_cli: Callable[..., Any]) -> None:
        project = copy_suite("savings")
        target = project / "pages/home.py"
        target.chmod(0o640)
        result = run_audit_cli(project, "--threshold-ms", "20", "--diff", "--write")
        assert result.code == 0 and "moved 6 import(s) in 4 file(s)" in result.stderr
        assert "        import requests\n" in target.read_text()
        assert target.stat().st_mode & 0o777 == 0o640
        assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]

    def test_read_only_file_is_one_line_and_nothing_written(
        self, copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any],
    ) -> None:
        project = copy_suite("savings")
        readonly = project / "pages/home.py"
        others = {p: p.read_text() for p in project.rglob("*.py")}
        readonly.chmod(0o444)
        result = run_audit_cli(project, "--threshold-ms", "20", "--diff", "--write")
        assert result.code == 2
        assert result.stderr.strip().splitlines()[-1] == (
            "qhub: error: cannot write pages/home.py: the file is read-only; nothing written")
        assert {p: p.read_text() for p in project.rglob("*.py")} == others


class TestCacheAndPaths:
    """The import-time cache follows PYTHONPATH and the project's own files."""

    def test_cache_not_stale_when_pythonpath_changes(
        self, tmp_path: Path, run_audit_cli: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        cache = tmp_path / "cache"
        project = tmp_path / "p"
        (project / "features" / "steps").mkdir(parents=True)
        (project / "features" / "steps" / "s.py").write_text(
            "import swapmod\n\n\ndef step(context):\n    return swapmod\n")
        slow, fast = tmp_path / "slow", tmp_path / "fast"
        slow.mkdir()
        fast.mkdir()
        (slow / "swapmod.py").write_text("import time\ntime.sleep(0.1)\n")
        (fast / "swapmod.py").write_text("X = 1\n")
        args = ("--cache-dir", str(cache), "--format", "json", "--threshold-ms", "20",
                "--repeat", "5")  # the fastest of 5: a loaded machine only adds time
        monkeypatch.setenv("PYTHONPATH", str(slow))
        first = run_audit_cli(project, *args).report
        monkeypatch.setenv("PYTHONPATH", str(fast))
        second = run_audit_cli(project, *args).report
        assert [f["rule"] for f in first["findings"]] == ["QH102"]
        assert second["findings"] == [] and second["summary"]["total_load_ms"] < 20
        # the same name now provided by the project: never measured, never run
        (project / "features" / "steps" / "swapmod.py").write_text(
            "import pathlib\npathlib.Path(__file__).with_suffix('.imported').touch()\n")
        third = run_audit_cli(project, *args).report
        assert "import swapmod" not in {m["module"] for m in third["modules"]}
        assert not list(project.rglob("*.imported"))

    def test_default_cache_lives_under_the_audited_root(
        self, copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any],
    ) -> None:
        project = copy_suite("stacked")
        run_audit_cli(project, cache=False)
        assert list((project / ".qhub" / "importtime").glob("*.json"))


def test_console_script_and_progress_on_a_terminal(
    copy_suite: Callable[[str], Path], audit_site: Path, tmp_path: Path,
) -> None:
    """The installed ``qhub`` script; a slow cold audit shows progress on a terminal."""
    project = copy_suite("costs")
    qhub = Path(sys.executable).with_name("qhub")
    env = {**os.environ, "PYTHONPATH": str(audit_site)}
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [str(qhub), "audit", "--no-cache", "--repeat", "2", "--jobs", "1", "--format", "json"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=child_fd, stdin=subprocess.DEVNULL,
    )
    os.close(child_fd)
    seen = b""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(main_fd, 4096)
            except OSError:
                break
    out, _ = proc.communicate(timeout=60)
    os.close(main_fd)
    assert proc.returncode == 1
    assert json.loads(out)["summary"]["findings"] == 8  # default threshold: 50 ms
    assert b"qhub audit: measuring imports" in seen


def test_damaged_cache_entries_are_misses(
    copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Any], tmp_path: Path,
) -> None:
    """Every cached answer may be hostile: garbage in each entry, the audit still agrees."""
    project = copy_suite("stacked")
    cache = tmp_path / "hostile-cache"
    first = run_audit_cli(project, "--cache-dir", str(cache), "--format", "json")
    entries = list(cache.glob("*.json"))
    assert entries
    for i, entry in enumerate(entries):
        garbage = [{"format": 2, "info": {"version_info": "x"}, "stamps": []},
                   {"format": 2, "answer": {"status": {"0": 5}, "used": ["x"]}},
                   {"format": 2, "info": {"cmd": 5}, "stamps": []}][i % 3]
        entry.write_text(json.dumps(garbage))
    again = run_audit_cli(project, "--cache-dir", str(cache), "--format", "json")
    assert again.code == first.code and again.findings == first.findings, again.stderr
