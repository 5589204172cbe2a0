"""The one file lock: bounded waits, one-line errors, never a hang."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from qhub._locks import LockUnavailableError, file_lock


class TestFileLock:
    """qhub._locks.file_lock."""

    def test_exclusive_within_process(self, tmp_path: Path) -> None:
        lock = tmp_path / "h.lock"
        with file_lock(lock, 1):
            with pytest.raises(LockUnavailableError, match=r"gave up after 0\.05 s"):
                with file_lock(lock, 0.05, what="run history lock"):
                    pass

    def test_held_by_other_process_times_out(self, tmp_path: Path) -> None:
        lock = tmp_path / "h.lock"
        code = (
            "import sys, time, filelock\n"
            f"l = filelock.FileLock({str(lock)!r}); l.acquire()\n"
            "print('held', flush=True); time.sleep(30)\n"
        )
        holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            with pytest.raises(LockUnavailableError) as info:
                with file_lock(lock, 0.2, what="run history lock"):
                    pass
            assert time.monotonic() - started < 20  # generous guard: bounded, not a hang
            assert str(info.value) == (
                f"run history lock {lock} is held by another process; gave up after 0.2 s"
            )
        finally:
            holder.kill()
            holder.wait()
        with file_lock(lock, 1):  # released when its holder died
            pass

    def test_lock_in_unwritable_place_is_one_line(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(LockUnavailableError, match=r"cannot create its folder"):
            with file_lock(blocker / "sub" / "h.lock", 0.1):
                pass
