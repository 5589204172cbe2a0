"""The ``qhub`` command line: help, version, usage errors, and the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qhub import __version__
from qhub.cli import main

SUBCOMMANDS = ("audit", "report", "baseline", "check", "cache", "doctor")


class TestMain:
    """``main(argv)`` in-process."""

    def test_help_lists_every_subcommand(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main(["--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        for name in SUBCOMMANDS:
            assert f"    {name}" in out

    @pytest.mark.parametrize("name", SUBCOMMANDS)
    def test_each_subcommand_has_help(self, name: str, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert f"qhub {name}" in capsys.readouterr().out

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            main(["--version"])
        assert capsys.readouterr().out.strip() == f"qhub {__version__}"

    def test_unknown_option_is_one_line_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--bogus"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("qhub: error:") and "--bogus" in err

    def test_unknown_command_exit_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["frobnicate"]) == 2
        assert "invalid choice: 'frobnicate'" in capsys.readouterr().err

    def test_no_command_prints_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main([]) == 2
        assert "usage: qhub" in capsys.readouterr().out

    def test_bad_config_is_one_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = tmp_path / "qhub.yaml"
        bad.write_text("cache:\n  backend: nowhere\n", encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main(["--config", str(bad), "cache", "stats"]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "cache.backend='nowhere' (from qhub.yaml:2)" in err


def test_console_script_runs() -> None:
    script = shutil.which("qhub", path=str(Path(sys.executable).parent))
    assert script is not None, "the qhub console script is not installed next to python"
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"qhub {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "qhub", "--nope"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("qhub: error:")


class TestGlobalOptionsAnywhere:
    """Global options work before or after the subcommand."""

    @pytest.mark.parametrize(
        "argv",
        [
            ["--config", "{cfg}", "doctor", "--timeout", "0.5"],
            ["doctor", "--config", "{cfg}", "--timeout", "0.5"],
            ["doctor", "--timeout", "0.5", "--config", "{cfg}"],
        ],
    )
    def test_config_before_or_after(
        self,
        argv: list[str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        cfg = tmp_path / "elsewhere.yaml"
        cfg.write_text("cache:\n  backend: memory\n", encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main([a.replace("{cfg}", str(cfg)) for a in argv]) == 0
        out = capsys.readouterr().out
        assert "OK   config           resolved (elsewhere.yaml)" in out
        assert "redis            not used (cache.backend=memory)" in out

    def test_nested_subcommand_takes_config(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text("cache:\n  backend: nowhere\n", encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main(["cache", "stats", "--config", str(bad)]) == 2
        assert "cache.backend='nowhere' (from bad.yaml:2)" in capsys.readouterr().err


class TestNumericOptions:
    """Numeric options are range-checked with one line, exit 2."""

    @pytest.mark.parametrize(
        ("argv", "line"),
        [
            (
                ["doctor", "--timeout", "-1"],
                "qhub: error: qhub doctor: argument --timeout: must be a number > 0 and"
                " <= 86400, got '-1'",
            ),
            (
                ["doctor", "--timeout", "0"],
                "qhub: error: qhub doctor: argument --timeout: must be a number > 0 and"
                " <= 86400, got '0'",
            ),
            (
                ["doctor", "--timeout", "nan"],
                "qhub: error: qhub doctor: argument --timeout: must be a number > 0 and"
                " <= 86400, got 'nan'",
            ),
        ],
    )
    def test_out_of_range(
        self, argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(argv) == 2
        assert capsys.readouterr().err.splitlines() == [line]


def test_closed_stdout_pipe_exits_quietly(tmp_path: Path) -> None:
    """``qhub doctor | head -0``: the reader is gone before qhub writes; no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qhub", "doctor", "--timeout", "0.2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in __import__("os").environ.items() if not k.startswith("QHUB_")},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""
