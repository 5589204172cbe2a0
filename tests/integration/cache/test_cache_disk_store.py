"""SQLite backend: persistence, concurrent writers, corruption recovery, dead lock holders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qhub.cache import CacheManager, DiskCacheBackend, LayeredCacheBackend
from qhub.exceptions import CacheBackendError

WRITER = r'''
import sys
from qhub.cache import CacheManager
cache = CacheManager(sys.argv[1], namespace="w", on_error="fail", default_ttl=0)
me = sys.argv[2]
for i in range(300):
    cache.set(f"{me}:{i}", {"i": i})
    if i % 50 == 0:
        cache.set_many({f"{me}:batch{i}:{j}": j for j in range(20)})
print(cache.get_stats()["errors"])
'''


class TestDiskStore:
    """Behaviour specific to the on-disk store."""

    def test_survives_between_runs(self, tmp_path: Path) -> None:
        """A new manager on the same file (a later run) reads earlier values."""
        path = tmp_path / "c.db"
        CacheManager(DiskCacheBackend(path)).set("k", {"kept": True})
        assert CacheManager(DiskCacheBackend(path)).get("k") == {"kept": True}

    def test_concurrent_writer_processes(self, tmp_path: Path) -> None:
        """4 processes writing at once (on_error='fail') never see 'database is locked'."""
        script = tmp_path / "writer.py"
        script.write_text(WRITER)
        db = str(tmp_path / "shared.db")
        procs = [
            subprocess.Popen([sys.executable, str(script), db, f"p{n}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in range(4)
        ]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert out.strip() == "0"
        assert CacheManager(db, namespace="w").get_stats()["total_size"] == 4 * (300 + 6 * 20)

    def test_corrupt_file_moved_aside(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A damaged file in qhub's .qhub folder is renamed *.corrupt-<time> and replaced,
        with one warning line."""
        path = tmp_path / ".qhub" / "cache.db"
        path.parent.mkdir()
        path.write_bytes(b"this is not a database" * 100)
        cache = CacheManager(DiskCacheBackend(path), on_error="fail")
        cache.set("k", 1)
        assert cache.get("k") == 1
        aside = list(path.parent.glob("cache.db.corrupt-*"))
        assert len(aside) == 1
        assert aside[0].read_bytes().startswith(b"this is not a database")
        err = capfd.readouterr().err
        assert err.count("qhub: warning:") == 1 and "moved it to" in err, err

    def test_foreign_file_refused_not_converted(self, tmp_path: Path) -> None:
        """A non-qhub file outside .qhub is refused with one line and left as it was."""
        path = tmp_path / "notes.db"
        path.write_bytes(b"my own notes, not a database" * 10)
        cache = CacheManager(DiskCacheBackend(path), on_error="fail")
        with pytest.raises(CacheBackendError, match="not a qhub database") as raised:
            cache.set("k", 1)
        assert "\n" not in str(raised.value)
        assert path.read_bytes() == b"my own notes, not a database" * 10
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]

    def test_expired_rows_purged(self, tmp_path: Path, clock: Any) -> None:
        """Expired rows read as misses, count as expirations and are deleted."""
        backend = DiskCacheBackend(tmp_path / "c.db", clock=clock)
        cache = CacheManager(backend, default_ttl=10)
        cache.set("a", 1)
        cache.set("b", 2)
        clock.advance(11)
        assert cache.get("a") is None
        assert backend.purge_expired() == 1
        stats = cache.get_stats()
        assert stats["expirations"] == 1
        assert backend.expirations == 2
        assert stats["total_size"] == 0

    def test_dead_lock_holder_does_not_block(self, tmp_path: Path) -> None:
        """A process killed while holding a key's lock leaves it free (flock dies with it)."""
        path = tmp_path / "c.db"
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sys, time\n"
             "from qhub.cache import DiskCacheBackend\n"
             "lock = DiskCacheBackend(sys.argv[1]).lock('qhub:k', 5)\n"
             "assert lock.__enter__()\n"
             "print('held', flush=True)\n"
             "time.sleep(60)\n", str(path)],
            stdout=subprocess.PIPE, text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        backend = DiskCacheBackend(path)
        with backend.lock("qhub:k", 0.05) as acquired:
            assert not acquired  # really held by the other process
        holder.kill()
        holder.wait()
        cache = CacheManager(backend, lock_timeout=30, on_error="fail")
        assert cache.get_or_set("k", lambda: "computed") == "computed"
        assert cache.get_stats()["lock_timeouts"] == 0


class TestLayered:
    """Memory in front of a shared store."""

    def test_front_serves_hot_keys(self, tmp_path: Path, clock: Any) -> None:
        """Reads hit the front; a change made elsewhere shows once the front copy lapses."""
        path = tmp_path / "c.db"
        layered = LayeredCacheBackend(DiskCacheBackend(path), front_ttl=30, timer=clock)
        cache = CacheManager(layered)
        other = CacheManager(DiskCacheBackend(path))
        cache.set("k", "v1")
        other.set("k", "v2")
        assert cache.get("k") == "v1"  # front copy
        clock.advance(31)
        assert cache.get("k") == "v2"
        assert layered.front.get("qhub:k") is not None  # copied to the front again

    def test_front_keeps_back_ttl(self, tmp_path: Path, clock: Any) -> None:
        """A value copied to the front expires no later than in the back store."""
        back = DiskCacheBackend(tmp_path / "c.db", clock=clock)
        CacheManager(back).set("k", 1, ttl=5)
        layered = LayeredCacheBackend(back, front_ttl=30, timer=clock)
        cache = CacheManager(layered)
        assert cache.get("k") == 1
        clock.advance(6)
        assert cache.get("k") is None
