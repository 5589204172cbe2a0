"""Class 1 for the disk cache: quarantine protects data, and faults that are not corruption
(disk full, read-only, locked, permission denied) give one warning while the run goes on.

Every case runs the cache in a child process (real files, a real tmpfs in a private mount
namespace for disk-full and read-only, a real second process holding the lock, a real
unprivileged user), so a hang or a crash is seen as one, and stderr is what a user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from qhub._quarantine import APPLICATION_ID

REPO = Path(__file__).resolve().parents[2]
GUARD = 120  # seconds: a generous "finishes at all" guard, never a speed check

PROGRAM = """\
import json, os, sys
from qhub.cache import CacheManager, DiskCacheBackend

path = sys.argv[1]
cache = CacheManager(DiskCacheBackend(path, busy_timeout=0.5), namespace="rel")
values = {f"k{i}": os.urandom(int(sys.argv[2])).hex() for i in range(int(sys.argv[3]))}
for key, value in values.items():
    assert cache.set(key, value), key
assert cache.get_or_set("computed", lambda: 42) == 42  # takes the dogpile lock
# a value may read as a miss after a failover (it is on the failed backend), never wrong;
# the values written last, after any failure, must read back
wrong = [key for key, value in values.items() if cache.get(key) not in (None, value)]
last = list(values)[-1]
lost = wrong + ([last] if cache.get(last) != values[last] else [])
stats = cache.get_stats()  # the seed name: the same program runs on older releases
print(json.dumps({"lost_during_run": lost, "fallback": stats["fallback_active"],
                  "errors": stats["errors"]}))
cache.close()
"""


def run_cache(path: Path, *, size: int = 100, count: int = 3,
              prefix: list[str] | None = None, cwd: Path | None = None) -> tuple[dict, str]:
    """Run :data:`PROGRAM` on ``path`` in a child; its JSON line and its stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [*(prefix or []), sys.executable, "-c", PROGRAM, str(path), str(size), str(count)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=GUARD, env=env, check=False,
                          cwd=cwd or tempfile.gettempdir())
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("qhub: warning:")]


def quarantined(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.corrupt-*"))


def garbage_db(path: Path, content: bytes = b"not a database, just text " * 40) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


def truncated_db(path: Path) -> bytes:
    """A real qhub SQLite file cut to a third: SQLite proves it corrupt."""
    from qhub.cache import CacheManager, DiskCacheBackend

    path.parent.mkdir(parents=True, exist_ok=True)
    with CacheManager(DiskCacheBackend(path)) as cache:
        cache.set_many({f"k{i}": "v" * 500 for i in range(200)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    return path.read_bytes()


class TestQuarantineProtects:
    """Quarantine only what SQLite proves corrupt, only qhub's own regular files."""

    def test_symlink_to_outside_file_is_never_replaced(self, tmp_path: Path) -> None:
        """The issue's example: .qhub/cache.db symlinked to a file outside the project.
        The target is neither renamed nor turned into a database; one warning."""
        victim = tmp_path / "outside" / "passwd"
        original = garbage_db(victim, b"root:x:0:0:root:/root:/bin/bash\n" * 20)
        link = tmp_path / "project" / ".qhub" / "cache.db"
        link.parent.mkdir(parents=True)
        link.symlink_to(victim)
        result, err = run_cache(link)
        assert victim.read_bytes() == original
        assert link.is_symlink() and os.readlink(link) == str(victim)
        assert quarantined(victim.parent) == [] and quarantined(link.parent) == []
        assert result["lost_during_run"] == [] and result["fallback"] is True
        assert len(warnings_in(err)) >= 1 and "not a qhub database" in err

    def test_symlink_to_corrupt_sqlite_is_not_moved(self, tmp_path: Path) -> None:
        """A symlink to a damaged SQLite file: SQLite proves it corrupt, but qhub moves only
        its own regular files, so the target stays where it is, byte for byte."""
        victim = tmp_path / "elsewhere" / "shared.db"
        original = truncated_db(victim)
        link = tmp_path / "project" / ".qhub" / "cache.db"
        link.parent.mkdir(parents=True)
        link.symlink_to(victim)
        result, err = run_cache(link)
        assert victim.read_bytes() == original and link.is_symlink()
        assert quarantined(victim.parent) == [] and quarantined(link.parent) == []
        assert result["lost_during_run"] == []
        assert "symlink" in err

    def test_two_quarantines_in_one_second_keep_both_files(self, tmp_path: Path) -> None:
        """Damage found twice within the same second: two quarantined files, the first
        never overwritten (names were time+pid only, and os.replace overwrote)."""
        path = tmp_path / ".qhub" / "cache.db"
        from qhub.cache import CacheManager, DiskCacheBackend

        contents = []
        for n in range(2):
            contents.append(garbage_db(path, f"damaged file number {n} ".encode() * 30))
            with CacheManager(DiskCacheBackend(path), on_error="fail") as cache:
                cache.set("k", n)
        aside = quarantined(path.parent)
        assert sorted(p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))) \
            == sorted(contents)

    def test_foreign_sqlite_database_is_refused(self, tmp_path: Path) -> None:
        """Another program's SQLite database (its own application_id) at cache.path is
        refused with one line and left unchanged, not converted into a qhub cache."""
        path = tmp_path / "app.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA application_id = 1234")
        conn.execute("CREATE TABLE people (name TEXT)")
        conn.execute("INSERT INTO people VALUES ('ann')")
        conn.commit()
        conn.close()
        before = path.read_bytes()
        result, err = run_cache(path)
        assert path.read_bytes() == before
        assert "another program's SQLite database" in err
        assert result["lost_during_run"] == []

    def test_plain_user_file_outside_qhub_folder_is_refused(self, tmp_path: Path) -> None:
        """A garbage file that is not in .qhub is the user's: refused, not quarantined."""
        path = tmp_path / "notes.txt"
        original = garbage_db(path)
        _, err = run_cache(path)
        assert path.read_bytes() == original and quarantined(tmp_path) == []
        assert "not a qhub database" in err

    def test_fifo_at_cache_path_does_not_hang(self, tmp_path: Path) -> None:
        """A FIFO where the cache file should be: refused at once, the run goes on."""
        path = tmp_path / ".qhub" / "cache.db"
        path.parent.mkdir()
        os.mkfifo(path)
        result, err = run_cache(path)
        assert result["lost_during_run"] == [] and "not a regular file" in err

    def test_created_file_carries_qhub_application_id(self, tmp_path: Path) -> None:
        """Files the disk cache creates say they are qhub's (PRAGMA application_id)."""
        path = tmp_path / ".qhub" / "cache.db"
        run_cache(path)
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        finally:
            conn.close()


# -- faults that are not corruption ------------------------------------------------------
def _namespaces_work() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


needs_mount_ns = pytest.mark.skipif(
    not _namespaces_work(), reason="needs root and 'unshare -m' for a private tmpfs"
)


@pytest.fixture
def mountpoint() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="qhub-rel-mnt-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_on_tmpfs(mnt: Path, size: str, setup: str, body_args: list[str]) -> tuple[dict, str]:
    """Mount a ``size`` tmpfs on ``mnt`` in a private mount namespace, run shell ``setup``
    there, then the cache program on ``mnt/.qhub/cache.db``."""
    script = textwrap.dedent(f"""\
        set -e
        mount -t tmpfs -o size={size} qhubrel {mnt}
        mkdir -p {mnt}/.qhub
        {setup}
        exec "$@"
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
           sys.executable, "-c", PROGRAM, str(mnt / ".qhub" / "cache.db"), *body_args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=GUARD, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


class TestNotCorruptionNeverQuarantined:
    """disk full, read-only, locked, permission denied: one warning, the run goes on,
    nothing moved, and what could not be saved is said at the end (never silently)."""

    @needs_mount_ns
    def test_disk_full(self, mountpoint: Path) -> None:
        """A 1 MB tmpfs filled by the cache itself: a warning when the disk fills, every
        value still readable during the run, a last warning naming what could not be
        saved, and no quarantine."""
        result, err = run_on_tmpfs(
            mountpoint, "1m", "", ["40000", "60"]
        )
        assert result["lost_during_run"] == [] and result["fallback"] is True
        lines = warnings_in(err)
        assert any("backend failed" in line and "full" in line for line in lines), err
        assert any("could not be saved" in line for line in lines), err
        assert ".corrupt-" not in err and "moved it" not in err

    @needs_mount_ns
    def test_read_only_file_system(self, mountpoint: Path) -> None:
        """An existing cache on a file system remounted read-only: the run goes on (it
        stopped with a traceback when the disk cache was built), nothing is moved."""
        seed = (
            f"{sys.executable} -c \"from qhub.cache import CacheManager, DiskCacheBackend;"
            f" c = CacheManager(DiskCacheBackend('{mountpoint}/.qhub/cache.db'));"
            " c.set('old', 1); c.close()\"\n"
            f"mount -o remount,ro {mountpoint}"
        )
        result, err = run_on_tmpfs(mountpoint, "4m", seed, ["100", "3"])
        assert result["lost_during_run"] == [] and result["fallback"] is True
        assert any("backend failed" in line for line in warnings_in(err)), err
        assert "could not be saved" in err and "moved it" not in err
        assert "not free after" not in err  # the lock file could not be made: no 30 s wait

    def test_locked_by_another_process(self, tmp_path: Path) -> None:
        """Another process holds an exclusive transaction on the file: the wait is bounded
        by busy_timeout, then one warning and the run goes on; the file is left alone."""
        path = tmp_path / ".qhub" / "cache.db"
        run_cache(path)  # create it
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""\
                import sqlite3, sys, time
                conn = sqlite3.connect({str(path)!r}, isolation_level=None)
                conn.execute("BEGIN EXCLUSIVE")
                print("locked", flush=True)
                sys.stdin.readline()
            """)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            result, err = run_cache(path)
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=GUARD)
        assert result["lost_during_run"] == [] and result["fallback"] is True
        assert "locked" in err and quarantined(path.parent) == []

    @pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                        reason="needs root and setpriv to run as an unprivileged user")
    def test_permission_denied(self) -> None:
        """The cache file belongs to another user (0600): one warning, the run goes on,
        the file is neither moved nor changed."""
        folder = Path(tempfile.mkdtemp(prefix="qhub-rel-perm-"))
        try:
            os.chmod(folder, 0o755)
            (folder / ".qhub").mkdir(mode=0o755)
            path = folder / ".qhub" / "cache.db"
            run_cache(path)
            for p in (path, *(path.parent.glob("cache.db-*"))):
                os.chmod(p, 0o600)
            before = path.read_bytes()
            prefix = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
            result, err = run_cache(path, prefix=prefix, cwd=folder)
            assert result["lost_during_run"] == [] and result["fallback"] is True
            assert any("backend failed" in line for line in warnings_in(err)), err
            assert path.read_bytes() == before and quarantined(path.parent) == []
        finally:
            shutil.rmtree(folder, ignore_errors=True)
