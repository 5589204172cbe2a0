"""Import costs measured in real subprocesses, parsed from -X importtime, cached on disk."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from qhub.imports.importtime import (
    ImportTimeCache,
    Measurement,
    measure_all,
    measure_best,
    measure_one,
    parse_importtime,
    probe,
)

SAMPLE = """import time: self [us] | cumulative | imported package
import time:       100 |        100 |   site
@@qhub-importtime@@
import time:       300 |        300 |     _json
import time:       400 |        700 |   json.decoder
import time:       212 |        912 | json
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "sleepy.py").write_text("import time\ntime.sleep(0.06)\nimport sleepy_dep\n")
    (folder / "sleepy_dep.py").write_text("X = 1\n")
    (folder / "broken.py").write_text("raise RuntimeError('nope')\n")
    (folder / "forever.py").write_text("import time\ntime.sleep(30)\n")
    return folder


class TestParse:
    """Only imports after the marker count; self times are kept per module."""

    def test_parse(self) -> None:
        self_us, total = parse_importtime(SAMPLE)
        assert self_us == {"_json": 300, "json.decoder": 400, "json": 212}
        assert total == 912


class TestMeasure:
    """Real subprocess measurements."""

    def test_slow_module_and_its_dependency(self, site: Path, tmp_path: Path) -> None:
        m = measure_one(sys.executable, "sleepy", [str(site)], tmp_path, timeout_s=20)
        assert m.ok and set(m.self_us) == {"sleepy", "sleepy_dep"}
        assert m.self_us["sleepy"] >= 60_000  # it sleeps 60 ms while importing

    def test_best_of_repeats_keeps_the_fastest(self, site: Path, tmp_path: Path) -> None:
        runs = [measure_one(sys.executable, "sleepy", [str(site)], tmp_path, 20) for _ in range(2)]
        best = measure_best(sys.executable, "sleepy", [str(site)], tmp_path, 20, repeat=3)
        assert best.ok and best.self_us["sleepy"] >= 60_000
        failing = measure_best(sys.executable, "broken", [str(site)], tmp_path, 20, repeat=3)
        assert not failing.ok
        assert all(r.ok for r in runs)

    def test_failure_and_timeout_are_results(self, site: Path, tmp_path: Path) -> None:
        broken = measure_one(sys.executable, "broken", [str(site)], tmp_path, timeout_s=20)
        assert not broken.ok and broken.error == "RuntimeError: nope"
        missing = measure_one(sys.executable, "no_such_mod_x", [], tmp_path, timeout_s=20)
        assert missing.error == "ModuleNotFoundError: No module named 'no_such_mod_x'"
        slow = measure_one(sys.executable, "forever", [str(site)], tmp_path, timeout_s=0.5)
        assert slow.timeout and not slow.ok
        odd = measure_one(sys.executable, "os; print(1)", [], tmp_path, timeout_s=20)
        assert not odd.ok and odd.error == "not a module name: 'os; print(1)'"

    def test_probe_classifies(self, site: Path, tmp_path: Path) -> None:
        (tmp_path / "localpkg.py").write_text("raise SystemExit('never run')\n")
        p = probe(sys.executable, ["json", "pytest", "sleepy", "localpkg", "nope_x"],
                  [str(site)], tmp_path)
        kinds = {k: v["kind"] for k, v in p.modules.items()}
        assert kinds == {"json": "stdlib", "pytest": "dist", "sleepy": "file",
                         "localpkg": "file", "nope_x": "missing"}
        assert p.is_local("localpkg", tmp_path) and not p.is_local("sleepy", tmp_path / "x")
        assert p.fingerprint("pytest").startswith("dist:pytest==")


class TestCache:
    """Second run is served from disk; keys change with the installed version."""

    def test_cache_hit_skips_subprocess(self, site: Path, tmp_path: Path) -> None:
        p = probe(sys.executable, ["sleepy"], [str(site)], tmp_path)
        cache = ImportTimeCache(tmp_path / "cache")
        calls: list[str] = []

        def runner(*args: Any, **kwargs: Any) -> Measurement:
            calls.append(args[1])
            return measure_best(*args, **kwargs)

        first = measure_all(sys.executable, ["sleepy"], p, [str(site)], tmp_path,
                            cache=cache, timeout_s=20, jobs=2, runner=runner)
        second = measure_all(sys.executable, ["sleepy"], p, [str(site)], tmp_path,
                             cache=cache, timeout_s=20, jobs=2, runner=runner)
        assert calls == ["sleepy"]
        assert first["sleepy"].ok and not first["sleepy"].cached
        assert second["sleepy"].cached and second["sleepy"].self_us == first["sleepy"].self_us

    def test_key_depends_on_version_and_interpreter(self, site: Path, tmp_path: Path) -> None:
        p = probe(sys.executable, ["pytest"], [], tmp_path)
        cache = ImportTimeCache(None)
        key = cache.key(p, "pytest")
        p.modules["pytest"]["dist"] = "pytest==0.0.1"
        assert cache.key(p, "pytest") != key
        p.executable = "/other/python"
        assert len({key, cache.key(p, "pytest")}) == 2


class TestProbeCache:
    """A cached probe is reused until a folder on the interpreter's path changes."""

    def test_reuse_and_invalidation(
        self, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from qhub.imports import importtime

        runs: list[str] = []
        real = importtime._run_probe

        def counting(*args: Any) -> Any:
            runs.append(args[0])
            return real(*args)

        monkeypatch.setattr(importtime, "_run_probe", counting)
        cache = ImportTimeCache(tmp_path / "cache")
        cache.folder.mkdir()  # type: ignore[union-attr]
        cwd = tmp_path / "project"
        cwd.mkdir()
        first = probe(sys.executable, ["sleepy", "newmod"], [str(site)], cwd, cache)
        assert first.modules["newmod"]["kind"] == "missing"
        again = probe(sys.executable, ["sleepy", "newmod"], [str(site)], cwd, cache)
        assert again.modules == first.modules and len(runs) == 1  # served from disk
        (site / "newmod.py").write_text("X = 1\n")  # "installing" changes the folder
        fresh = probe(sys.executable, ["sleepy", "newmod"], [str(site)], cwd, cache)
        assert fresh.modules["newmod"]["kind"] == "file" and len(runs) == 2
