"""behave's settings and load order, read without running anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhub.audit.layout import discover, feature_files, read_behave_settings
from qhub.exceptions import AuditError


def test_settings_precedence_paths_and_stage(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.behave]\nsteps_dir = "py_steps"\npaths = ["specs", "more"]\nlang = "de"\n')
    (tmp_path / "behave.ini").write_text("[behave]\nsteps_dir = ini_steps\n")
    s = read_behave_settings(tmp_path)
    assert s.steps_dir == "ini_steps"  # behave.ini wins, as in behave
    assert s.paths == (str(tmp_path / "specs"), str(tmp_path / "more")) and s.lang == "de"
    staged = read_behave_settings(tmp_path / "nowhere", {"BEHAVE_STAGE": "prod"})
    assert staged.steps_dir == "prod_steps" and staged.environment_file == "prod_environment.py"


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[behave\nbroken")
    with pytest.raises(AuditError) as err:
        read_behave_settings(tmp_path)
    assert "\n" not in str(err.value)


def _project(tmp_path: Path) -> Path:
    steps = tmp_path / "features" / "steps"
    (steps / "sub").mkdir(parents=True)
    for name in ("s10.py", "s2.py", "__init__.py", "A.py", "notes.txt"):
        (steps / name).write_text("")
    (steps / "sub" / "n.py").write_text("")
    (tmp_path / "features" / "environment.py").write_text("")
    (tmp_path / "features" / "x.feature").write_text("Feature: x\n")
    return tmp_path


def test_load_order_is_behaves_plain_sort_environment_first(tmp_path: Path) -> None:
    root = _project(tmp_path)
    layout = discover([], root, read_behave_settings(root))
    names = [p.relative_to(root / "features").as_posix() for p in layout.files]
    assert names == ["environment.py", "steps/A.py", "steps/__init__.py", "steps/s10.py",
                     "steps/s2.py"]
    assert layout.base_dir == root / "features"
    assert layout.feature_roots == [root / "features"]


def test_nested_only_when_configured_and_supported(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "behave.ini").write_text("[behave]\nuse_nested_step_modules = true\n")
    settings = read_behave_settings(root)
    assert any(p.name == "n.py" for p in discover([], root, settings).files)
    assert not any(p.name == "n.py" for p in discover([], root, settings, nested=False).files)


def test_explicit_folder_gives_its_own_features(tmp_path: Path) -> None:
    root = _project(tmp_path)
    other = root / "issue.features"
    (other / "steps").mkdir(parents=True)
    (other / "steps" / "i.py").write_text("")
    (other / "i.feature").write_text("Feature: i\n")
    layout = discover([other], root, read_behave_settings(root))
    assert layout.feature_roots == [other]
    assert feature_files(layout.feature_roots) == [other / "i.feature"]


def test_missing_layout_is_an_audit_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no 'steps' folder"):
        discover([], tmp_path, read_behave_settings(tmp_path))
