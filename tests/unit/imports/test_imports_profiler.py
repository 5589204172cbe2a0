"""profile_imports records what a block imported; ImportOptimizer reports it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qhub.imports import ImportOptimizer, profile_imports
from qhub.imports.profiler import RECORDER

Factory = Callable[[str], str]


class TestProfileImports:
    """Nested imports, self vs cumulative, and cleanup of sys.meta_path."""

    def test_context_manager_records_tree(self, module_factory: Factory) -> None:
        child = module_factory("import time\ntime.sleep(0.02)\n")
        parent = module_factory(f"import {child}\n")
        with profile_imports() as prof:
            __import__(parent)
            __import__("json")  # already imported: costs nothing, not recorded
        by = {r.module: r for r in prof.records}
        assert set(by) == {parent, child}
        assert by[child].parent == parent and by[child].depth == 1
        assert by[child].cumulative_s >= 0.02  # it sleeps 20 ms while importing
        assert by[parent].cumulative_s >= by[child].cumulative_s
        assert by[parent].self_s == pytest.approx(
            by[parent].cumulative_s - by[child].cumulative_s, abs=1e-6)
        assert prof.total_import_time == by[parent].cumulative_s
        assert RECORDER not in sys.meta_path

    def test_decorator_stores_profile_and_errors(self, module_factory: Factory) -> None:
        bad = module_factory("raise ValueError('bad module')\n")

        @profile_imports
        def load() -> None:
            __import__(bad)

        with pytest.raises(ValueError, match="bad module"):
            load()
        prof = load.import_profile  # type: ignore[attr-defined]
        assert [r.module for r in prof.records] == [bad]
        assert prof.records[0].error == "ValueError: bad module"

    def test_resources_still_work_through_wrapped_loader(self, module_factory: Factory,
                                                         tmp_path: Path) -> None:
        name = module_factory("X = 1\n")
        with profile_imports():
            module = __import__(name)
        assert module.__loader__.get_data(str(tmp_path / f"{name}.py")) == b"X = 1\n"


class TestImportOptimizer:
    """Reference API: enable, lazy loaders, report keys, audit."""

    def test_report_and_lazy_modules(self, module_factory: Factory) -> None:
        heavy = module_factory("import time\ntime.sleep(0.03)\n")
        lazy = module_factory("VALUE = 1\n")
        opt = ImportOptimizer(heavy_threshold_ms=25, lazy_modules=[lazy])
        opt.enable_optimization()
        try:
            __import__(heavy)
        finally:
            opt.disable_optimization()
        report = opt.get_optimization_report()
        assert report["import_profiling"]["total_import_time"] >= 0.03
        assert [h["module"] for h in report["heavy_modules"]] == [heavy]
        assert any(heavy in r for r in report["recommendations"])
        assert report["lazy_modules"] == {lazy: False}
        assert any(f"lazy module '{lazy}' was never used" in r for r in report["recommendations"])
        assert sys.modules[lazy].VALUE == 1
        assert opt.get_optimization_report()["lazy_modules"] == {lazy: True}

    def test_audit_step_definitions(self, tmp_path: Path) -> None:
        steps = tmp_path / "steps"
        steps.mkdir()
        (steps / "s.py").write_text("import json\nimport faker\n\n\ndef f():\n"
                                    "    return faker, json\n")
        result = ImportOptimizer().audit_step_definitions(
            steps, root=tmp_path, cache_dir=tmp_path / "cache", repeat=1)
        assert result["files_analyzed"] == 1 and result["behave_version"]
        assert [(o["rule"], o["line"]) for o in result["optimization_opportunities"]] == [
            ("QH102", 2)]
        assert result["saving_ms"] > 0
