"""Measuring subprocesses: isolated, project code refused, failed attempts dropped, cached."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qhub.audit import interpreter, measure
from qhub.audit.cache import JsonCache


@pytest.fixture
def setup(tmp_path: Path) -> tuple[interpreter.Interpreter, measure.Isolation, Path, Path]:
    site = tmp_path / "site"
    project = tmp_path / "project"
    site.mkdir()
    project.mkdir()
    (site / "slowish.py").write_text("import time\ntime.sleep(0.05)\nimport subslow\n")
    (site / "subslow.py").write_text("try:\n    import nt_no_such\nexcept ImportError:\n"
                                     "    pass\n")
    (site / "pulls_project.py").write_text("import projmod\n")
    (site / "hangs.py").write_text("import time\ntime.sleep(60)\n")
    (project / "projmod.py").write_text(
        f"open({str(tmp_path / 'ran')!r}, 'w').write('executed')\n")
    cwd = interpreter.neutral_folder()
    interp = interpreter.probe(interpreter.default_python(), project, JsonCache(None), cwd)
    path = [str(site), str(project), *interp.path]
    iso = measure.Isolation(path=path, forbidden=[str(project)],
                            allowed=list(interp.installed_roots), sites=list(interp.sites),
                            cwd=cwd)
    return interp, iso, tmp_path, site


def test_tree_and_failed_attempts(setup: tuple) -> None:  # type: ignore[type-arg]
    interp, iso, _tmp, _site = setup
    m = measure.measure_one(interp, "import slowish", iso, 30)
    assert m.ok and m.self_us["slowish"] >= 50_000 and "subslow" in m.self_us
    assert "nt_no_such" not in m.self_us  # printed by -X importtime, never imported


def test_project_module_is_refused_never_run(setup: tuple) -> None:  # type: ignore[type-arg]
    interp, iso, tmp, _site = setup
    m = measure.measure_one(interp, "import pulls_project", iso, 30)
    assert not m.ok and m.blocked and interpreter.GUARD_MARK in (m.error or "")
    assert not (tmp / "ran").exists()


def test_timeout_and_bad_forms(setup: tuple) -> None:  # type: ignore[type-arg]
    interp, iso, _tmp, _site = setup
    m = measure.measure_one(interp, "import hangs", iso, 0.5)
    assert m.timeout and not m.ok
    bad = measure.measure_one(interp, "import os; print(1)", iso, 5)
    assert not bad.ok and "not a plain import statement" in (bad.error or "")


def test_cache_hits_and_hostile_entries(setup: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    interp, iso, _tmp, _site = setup
    cache = JsonCache(tmp_path / "cache")
    first = measure.measure_all(interp, [("import slowish", "v1")], iso, cache, timeout_s=30,
                                jobs=1, repeat=1)
    again = measure.measure_all(interp, [("import slowish", "v1")], iso, cache, timeout_s=30,
                                jobs=1, repeat=1)
    assert not first["import slowish"].cached and again["import slowish"].cached
    for entry in (tmp_path / "cache").glob("*.json"):
        entry.write_text(json.dumps({"format": 2, "ok": True, "self_us": 5}))
    hostile = measure.measure_all(interp, [("import slowish", "v1")], iso, cache,
                                  timeout_s=30, jobs=1, repeat=1)
    assert not hostile["import slowish"].cached and hostile["import slowish"].ok
    entry = next((tmp_path / "cache").glob("*.json"))
    entry.unlink()
    os.mkfifo(entry)
    assert cache.get(entry.stem) is None  # a FIFO is a miss, and never blocks


def test_probe_reads_pythonpath_relative_to_root(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "libs")
    cache = JsonCache(tmp_path / "cache")
    found = interpreter.probe(interpreter.default_python(), tmp_path, cache,
                              interpreter.neutral_folder())
    assert str(tmp_path / "libs") in found.path and found.behave_version
    monkeypatch.setenv("PYTHONPATH", "other")
    changed = interpreter.probe(interpreter.default_python(), tmp_path, cache,
                                interpreter.neutral_folder())
    assert str(tmp_path / "other") in changed.path
