"""The audit on a generated corpus with planted problems: exact findings, nothing else."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qhub.imports import run_audit
from qhub.imports.model import AuditResult, Severity


@pytest.fixture(scope="module")
def audited(corpus: Any, tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    cache = tmp_path_factory.mktemp("cache")
    return run_audit([], root=corpus.project, extra_path=[str(corpus.site)], cache_dir=cache,
                     repeat=1)


class TestPlantedFindings:
    """Every planted problem is reported with its rule and line, and nothing else."""

    def test_exact_findings(
        self, audited: AuditResult, expected_findings: set[tuple[str, int, str]]
    ) -> None:
        got = {(f.location.path, f.location.line, f.rule) for f in audited.findings}
        assert got == expected_findings

    def test_suppression_comment_counts(self, audited: AuditResult) -> None:
        # c_steps.py line 2: `import json  # qhub: ignore[QH103]`
        assert audited.suppressed == 1
        assert not [f for f in audited.findings if f.location.path == "steps/c_steps.py"
                    and f.rule == "QH103"]

    def test_load_order_environment_first(self, audited: AuditResult) -> None:
        assert audited.files[0] == "environment.py"
        assert audited.files[1:5] == ["steps/a_steps.py", "steps/b_steps.py",
                                      "steps/c_steps.py", "steps/d_side_effect.py"]
        assert "steps/nested/n_steps.py" not in audited.files  # nesting is off by default

    def test_side_effect_file_never_executed(self, audited: AuditResult, corpus: Any) -> None:
        assert "steps/d_side_effect.py" in audited.files
        assert not corpus.marker.exists()
        # the plant works: executing the file really writes the marker
        subprocess.run([sys.executable, str(corpus.project / "steps/d_side_effect.py")],
                       check=False, capture_output=True)
        assert corpus.marker.read_text() == "executed"
        corpus.marker.unlink()

    def test_bad_files_reported_with_reasons(self, audited: AuditResult) -> None:
        by_path = {f.location.path: f for f in audited.findings
                   if f.rule in ("QH001", "QH002", "QH003", "QH004")}
        assert "syntax error" in by_path["steps/e_broken.py"].message
        assert "decode" in by_path["steps/f_latin1.py"].message
        assert "symlink loop" in by_path["steps/i_loop.py"].message
        assert "limit" in by_path["steps/h_big.py"].message
        assert by_path["steps/g_empty.py"].severity is Severity.INFO

    def test_first_importer_pays(self, audited: AuditResult) -> None:
        cost = audited.modules["slowmod"]
        assert cost.status == "measured"
        assert cost.paid_by is not None
        assert (cost.paid_by.path, cost.paid_by.line) == ("steps/a_steps.py", 2)
        assert cost.standalone_ms >= 80  # the module sleeps 80 ms while importing
        # never double counted: the three importers together pay what the first one pays
        assert audited.total_load_ms == pytest.approx(cost.paid_ms + _other_paid(audited))
        b_heavy = next(f for f in audited.findings if f.rule == "QH101")
        assert b_heavy.data["paid_ms"] == 0
        assert "already loaded by steps/a_steps.py:2" in b_heavy.message

    def test_moving_one_import_saves_nothing(self, audited: AuditResult) -> None:
        first = next(f for f in audited.findings
                     if f.rule == "QH102" and f.location.path == "steps/a_steps.py")
        assert first.data["saving_alone_ms"] == 0
        assert first.data["saving_all_ms"] >= 80
        assert first.data["functions"] == ['"Given a planted thing" (step_given, line 7)']
        # b_steps.py uses slowmod at module level, so applying every lazy suggestion saves 0
        assert audited.saving_ms == 0

    def test_import_failure_is_a_finding(self, audited: AuditResult) -> None:
        failed = next(f for f in audited.findings if f.rule == "QH100")
        assert "planted failure" in failed.message
        assert audited.modules["failmod"].status == "failed"


def _other_paid(result: AuditResult) -> float:
    return sum(m.paid_ms for name, m in result.modules.items() if name != "slowmod")


class TestNestedAndSelection:
    """behave settings decide nesting; select/ignore narrow the rules."""

    def test_nested_step_modules_from_behave_ini(
        self, tmp_path: Path, corpus_builder: Callable[[Path], Any]
    ) -> None:
        c = corpus_builder(tmp_path)
        (c.project / "behave.ini").write_text("[behave]\nuse_nested_step_modules = true\n")
        r = run_audit([], root=c.project, extra_path=[str(c.site)], cache_dir=tmp_path / "c",
                      select=["QH103", "QH202"])
        assert r.files[-1] == "steps/nested/n_steps.py"
        got = {(f.location.path, f.location.line, f.rule) for f in r.findings}
        assert got == {
            ("steps/a_steps.py", 1, "QH103"),
            ("steps/b_steps.py", 19, "QH202"),
            ("steps/nested/n_steps.py", 1, "QH103"),
            ("steps/nested/n_steps.py", 4, "QH202"),
        }

    def test_ignore_by_name_and_prefix(self, corpus: Any, tmp_path: Path) -> None:
        r = run_audit([], root=corpus.project, extra_path=[str(corpus.site)],
                      cache_dir=tmp_path, ignore=["QH0", "unused-step", "QH2"])
        rules = {f.rule for f in r.findings}
        assert rules == {"QH100", "QH101", "QH102", "QH103", "QH104", "QH105", "QH106",
                         "QH107", "QH108"}


class TestNotMovable:
    """An import used by a function that runs at import time is not a lazy candidate."""

    def test_function_called_at_module_level(self, corpus: Any, tmp_path: Path) -> None:
        steps = tmp_path / "steps"
        steps.mkdir()
        (steps / "m_steps.py").write_text(
            "import slowmod\n\n\ndef load():\n    return slowmod.work()\n\n\nDATA = load()\n")
        r = run_audit([], root=tmp_path, extra_path=[str(corpus.site)], repeat=1,
                      cache_dir=tmp_path / "c", select=["QH101", "QH102"])
        assert [(f.rule, f.location.line) for f in r.findings] == [("QH101", 1)]
        assert "used by load(), called at import time" in r.findings[0].message
        assert r.saving_ms == 0
