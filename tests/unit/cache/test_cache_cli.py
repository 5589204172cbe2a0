"""``qhub cache stats|clear|warm`` on the configured backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qhub.cache import CacheManager
from qhub.cli import main

WARMERS = '''
def register_warming(cache):
    cache.register_warming_function("users", lambda: [{"id": 1}, {"id": 2}])
    cache.register_warming_function("broken", lambda: {}["missing"])
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "qhub.yaml").write_text("cache:\n  backend: disk\n  path: cache.db\n")
    (tmp_path / "warmers.py").write_text(WARMERS)
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("QHUB_", "REDIS_", "CACHE_")):
            monkeypatch.delenv(name)
    return tmp_path


class TestCacheCli:
    """In-process runs of ``main([...])``."""

    def test_stats_and_clear(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """stats counts the namespace's items; clear --pattern removes only matches."""
        cache = CacheManager(str(project / "cache.db"))
        cache.set_many({"user:1": 1, "user:2": 2, "order:1": 3})
        assert main(["cache", "stats", "--format", "json"]) == 0
        stats = json.loads(capsys.readouterr().out)
        assert (stats["total_size"], stats["backend"]) == (3, "disk")
        assert main(["cache", "clear", "--pattern", "user:*"]) == 0
        assert "removed 2 key(s)" in capsys.readouterr().out
        assert cache.get("order:1") == 3 and cache.get("user:1") is None
        assert main(["cache", "clear"]) == 0
        assert cache.get("order:1") is None

    def test_warm(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """warm runs every registered function, stores results, exits 1 on a failure."""
        assert main(["cache", "warm", "warmers.py"]) == 1
        out = capsys.readouterr().out
        assert "1 warmed, 1 failed" in out and "KeyError" in out
        assert CacheManager(str(project / "cache.db")).get("users") == [{"id": 1}, {"id": 2}]

    def test_errors_are_one_line(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Unreachable Redis, unknown backends and missing actions exit 2 with one line."""
        assert main(["cache", "stats", "--backend", "redis://127.0.0.1:1/0"]) == 2
        assert main(["cache", "stats", "--backend", "nope"]) == 2
        assert main(["cache"]) == 2
        assert main(["cache", "warm", "nothing_here.py"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 4
        assert "Redis at redis://127.0.0.1:1/0" in err[0]
        assert "choose one of" in err[1]

    def test_console_script(self, project: Path) -> None:
        """The installed ``qhub`` script runs ``cache stats``."""
        script = Path(sys.executable).with_name("qhub")
        proc = subprocess.run([str(script), "cache", "stats"], capture_output=True, text=True,
                              check=False, cwd=project)
        assert proc.returncode == 0, proc.stderr
        assert "items:       0" in proc.stdout
