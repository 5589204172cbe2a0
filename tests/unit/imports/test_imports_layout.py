"""behave's settings are parsed (not imported) and its load order reproduced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qhub.exceptions import AuditError
from qhub.imports.layout import BehaveSettings, discover, read_behave_settings


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestSettings:
    """behave.ini > .behaverc > setup.cfg > tox.ini > pyproject [tool.behave]."""

    def test_defaults(self, tmp_path: Path) -> None:
        s = read_behave_settings(tmp_path, environ={})
        assert (s.steps_dir, s.environment_file, s.use_nested_step_modules) == (
            "steps", "environment.py", False)

    def test_pyproject_and_precedence(self, tmp_path: Path) -> None:
        _touch(tmp_path / "pyproject.toml",
               "[tool.behave]\nuse_nested_step_modules = true\nsteps_dir = 'py_steps'\n")
        s = read_behave_settings(tmp_path, environ={})
        assert s.use_nested_step_modules and s.steps_dir == "py_steps"
        _touch(tmp_path / "setup.cfg", "[behave]\nuse_nested_step_modules = false\n")
        assert not read_behave_settings(tmp_path, environ={}).use_nested_step_modules
        _touch(tmp_path / "behave.ini", "[behave]\nuse-nested-step-modules = yes\n")
        s = read_behave_settings(tmp_path, environ={})
        assert s.use_nested_step_modules
        assert s.sources == ("pyproject.toml", "setup.cfg", "behave.ini")

    def test_stage_prefix(self, tmp_path: Path) -> None:
        s = read_behave_settings(tmp_path, environ={"BEHAVE_STAGE": "product"})
        assert (s.steps_dir, s.environment_file) == ("product_steps", "product_environment.py")

    def test_bad_toml_is_an_audit_error(self, tmp_path: Path) -> None:
        _touch(tmp_path / "pyproject.toml", "[tool.behave\n")
        with pytest.raises(AuditError, match="cannot read behave settings"):
            read_behave_settings(tmp_path, environ={})


class TestDiscover:
    """Files in behave's order: environment.py, steps/*.py sorted, then subfolders."""

    def _project(self, root: Path) -> None:
        for name in ("b.py", "a.py", "README.md"):
            _touch(root / "features" / "steps" / name)
        _touch(root / "features" / "steps" / "sub" / "z.py")
        _touch(root / "features" / "steps" / "sub" / "deeper" / "y.py")
        _touch(root / "features" / "environment.py")

    def test_features_layout_flat(self, tmp_path: Path) -> None:
        self._project(tmp_path)
        found = discover([], tmp_path, BehaveSettings())
        rel = [p.relative_to(tmp_path).as_posix() for p in found.files]
        assert rel == ["features/environment.py", "features/steps/a.py", "features/steps/b.py"]

    def test_nested_enabled(self, tmp_path: Path) -> None:
        self._project(tmp_path)
        os.symlink("..", tmp_path / "features" / "steps" / "sub" / "loop")
        found = discover([], tmp_path, BehaveSettings(use_nested_step_modules=True))
        rel = [p.relative_to(tmp_path / "features").as_posix() for p in found.files]
        assert rel == ["environment.py", "steps/a.py", "steps/b.py", "steps/sub/z.py",
                       "steps/sub/deeper/y.py"]

    def test_top_level_layout_and_explicit_paths(self, tmp_path: Path) -> None:
        _touch(tmp_path / "steps" / "s.py")
        _touch(tmp_path / "environment.py")
        _touch(tmp_path / "features" / "x.feature")
        found = discover([], tmp_path, BehaveSettings())
        assert [p.name for p in found.files] == ["environment.py", "s.py"]
        explicit = discover([Path("steps/s.py"), Path("environment.py")], tmp_path,
                            BehaveSettings())
        assert [p.name for p in explicit.files] == ["environment.py", "s.py"]

    def test_missing_paths(self, tmp_path: Path) -> None:
        with pytest.raises(AuditError, match="no 'steps' folder"):
            discover([], tmp_path, BehaveSettings())
        with pytest.raises(AuditError, match="does not exist"):
            discover([Path("nope")], tmp_path, BehaveSettings())
