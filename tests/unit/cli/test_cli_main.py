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
