"""``qhub audit`` end to end: formats, exit codes, SARIF validity, ruff config, fixes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from qhub.cli import main

REPO = Path(__file__).resolve().parents[3]
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "sarif-2.1.0.schema.json"


@pytest.fixture
def project(
    tmp_path: Path, corpus_builder: Callable[[Path], Any], monkeypatch: pytest.MonkeyPatch
) -> Any:
    c = corpus_builder(tmp_path)
    monkeypatch.chdir(c.project)
    monkeypatch.setenv("PYTHONPATH", str(c.site))
    for name in ("QHUB_CONFIG", "QHUB_IMPORTS__FAIL_ON"):
        monkeypatch.delenv(name, raising=False)
    return c


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    extra = [] if "--repeat" in argv else ["--repeat", "1"]  # one timing per module: faster
    code = main(["audit", *argv, *extra])
    out, err = capsys.readouterr()
    return code, out, err


class TestExitCodes:
    """0 clean, 1 findings at or above --fail-on, 2 usage or input errors."""

    def test_errors_fail_by_default(self, project: Any, capsys: Any) -> None:
        code, out, _ = _run(capsys)
        assert code == 1
        assert "steps/b_steps.py" in out and "QH201 ambiguous-step" in out

    def test_fail_on_levels(self, project: Any, capsys: Any) -> None:
        # only info findings left: passes at warning, fails at info
        assert _run(capsys, "--select", "QH202")[0] == 0
        assert _run(capsys, "--select", "QH202", "--fail-on", "info")[0] == 1
        assert _run(capsys, "--select", "QH104", "--fail-on", "error")[0] == 0
        assert _run(capsys, "--select", "QH104", "--fail-on", "warning")[0] == 1

    def test_clean_suite_exits_zero(self, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
        (tmp_path / "steps").mkdir()
        (tmp_path / "steps" / "ok.py").write_text(
            'from behave import given\n\n\n@given("fine")\ndef s(context):\n    pass\n')
        monkeypatch.chdir(tmp_path)
        code, out, _ = _run(capsys, "--fail-on", "info")
        assert code == 0, out
        assert "0 finding(s)" in out

    @pytest.mark.parametrize("argv", [
        ["no/such/path"],
        ["--select", "QH999"],
        ["--write"],
        ["--format", "xml"],
        ["--target-version", "three"],
    ])
    def test_usage_errors_exit_two(self, project: Any, capsys: Any, argv: list[str]) -> None:
        code, out, err = _run(capsys, *argv)
        assert code == 2
        assert err.startswith("qhub: error:") and len(err.strip().splitlines()) == 1
        assert out == ""

    def test_fail_on_from_config(self, project: Any, capsys: Any) -> None:
        (project.project / "qhub.json").write_text(json.dumps({"imports": {"fail_on": "info"}}))
        assert _run(capsys, "--select", "QH202")[0] == 1
        assert _run(capsys, "--select", "QH202", "--fail-on", "warning")[0] == 0


class TestFormats:
    """JSON follows the documented schema; SARIF validates against the official schema."""

    def test_json_schema_v1(self, project: Any, capsys: Any) -> None:
        code, out, _ = _run(capsys, "--format", "json")
        data = json.loads(out)
        assert code == 1
        assert data["schema"] == "qhub-audit/1"
        assert set(data) == {"schema", "tool", "root", "interpreter", "summary", "files",
                             "findings", "modules", "notes"}
        assert data["summary"]["findings"] == len(data["findings"]) == 17
        first = data["findings"][0]
        assert set(first) == {"rule", "name", "severity", "path", "line", "column", "message",
                              "suggestion", "module", "related", "data"}
        slow = next(m for m in data["modules"] if m["module"] == "slowmod")
        assert slow["paid_by"] == {"path": "steps/a_steps.py", "line": 2}

    def test_sarif_validates(self, project: Any, capsys: Any) -> None:
        code, out, _ = _run(capsys, "--format", "sarif")
        log = json.loads(out)
        schema = json.loads(SARIF_SCHEMA.read_text())
        jsonschema.validate(log, schema)  # draft-04 official SARIF 2.1.0 schema
        results = log["runs"][0]["results"]
        assert len(results) == 17
        amb = next(r for r in results if r["ruleId"] == "QH201")
        loc = amb["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "steps/b_steps.py"
        assert loc["region"]["startLine"] == 12
        assert amb["level"] == "error"
        assert code == 1

    def test_sarif_schema_rejects_broken_log(self) -> None:
        schema = json.loads(SARIF_SCHEMA.read_text())
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"version": "2.1.0", "runs": [{"tool": {}}]}, schema)

    def test_output_file(self, project: Any, capsys: Any, tmp_path: Path) -> None:
        target = tmp_path / "audit.json"
        _run(capsys, "--format", "json", "-o", str(target))
        assert json.loads(target.read_text())["schema"] == "qhub-audit/1"


class TestRuffEmit:
    """--emit ruff prints a TID253 config that real ruff enforces."""

    def test_ruff_flags_heavy_module_level_import(self, project: Any, capsys: Any) -> None:
        code, out, _ = _run(capsys, "--emit", "ruff")
        assert 'banned-module-level-imports = ["slowmod"]' in out
        (project.project / "pyproject.toml").write_text(out)  # pasted as printed
        ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        proc = subprocess.run(
            [ruff, "check", "--no-cache", "--output-format", "concise",
             "steps/a_steps.py", "steps/c_steps.py"],
            cwd=project.project, capture_output=True, text=True, check=False,
        )
        assert "steps/a_steps.py:2:8: TID253" in proc.stdout
        assert "steps/c_steps.py:1:8: TID253" in proc.stdout
        assert code == 1


class TestConsoleScript:
    """The installed ``qhub`` script runs the audit in a real subprocess."""

    def test_subprocess(self, project: Any) -> None:
        exe = Path(sys.executable).parent / "qhub"
        proc = subprocess.run([str(exe), "audit", "--select", "QH105", "--format", "json"],
                              cwd=project.project, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        findings = json.loads(proc.stdout)["findings"]
        assert [(f["path"], f["line"], f["rule"]) for f in findings] == [
            ("steps/a_steps.py", 2, "QH105")]


class TestPathsAndSuggestions:
    """Paths are relative to the working folder; suggestions follow the target Python."""

    def test_paths_relative_to_cwd_not_config_root(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        (tmp_path / "qhub.json").write_text("{}")  # makes tmp_path the config root
        (tmp_path / "steps").mkdir()
        (tmp_path / "steps" / "root_steps.py").write_text("import json\n")
        sub = tmp_path / "suite"
        (sub / "steps").mkdir(parents=True)
        (sub / "steps" / "sub_steps.py").write_text("import os\n")
        monkeypatch.chdir(sub)
        code, out, _ = _run(capsys, "steps", "--format", "json", "--fail-on", "info")
        data = json.loads(out)
        assert data["files"] == ["suite/steps/sub_steps.py"]
        assert [(f["path"], f["rule"]) for f in data["findings"]] == [
            ("suite/steps/sub_steps.py", "QH103")]
        assert code == 1

    def test_pep810_for_315_targets(self, project: Any, capsys: Any) -> None:
        _, old, _ = _run(capsys, "--select", "QH102,QH101")
        _, new, _ = _run(capsys, "--select", "QH102,QH101", "--target-version", "3.15")
        assert "@lazy_import('slowmod')" in old and "lazy import slowmod" not in old
        assert "`lazy import slowmod` (PEP 810)" in new and "__lazy_modules__" in new
        assert "@lazy_import" not in new

    def test_repeat_must_be_positive(self, project: Any, capsys: Any) -> None:
        code, _, err = _run(capsys, "--repeat", "0")
        assert code == 2 and "--repeat" in err
