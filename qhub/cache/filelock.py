"""A per-key inter-process lock on a small file (``flock``), for the disk backend's dogpile guard.

The operating system drops an ``flock`` when its holder exits, so a crashed process never
leaves a key locked. Waiting polls with ``LOCK_NB`` so it can give up after ``timeout``.
Where ``fcntl`` does not exist (Windows) only threads of one process are kept apart.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

if sys.platform != "win32":
    import fcntl

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_mutex = threading.Lock()


class FileLock:
    """Context manager: ``with FileLock(folder, key, timeout) as acquired: ...``."""

    def __init__(self, folder: Path, key: str, timeout: float) -> None:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        self.path = folder / f"{digest}.lock"
        self.timeout = timeout
        self._fd: int | None = None
        self._thread_lock: threading.Lock | None = None

    def acquire(self) -> bool:
        deadline = time.monotonic() + self.timeout
        if sys.platform == "win32":  # pragma: no cover
            with _thread_locks_mutex:
                lock = _thread_locks.setdefault(str(self.path), threading.Lock())
            if lock.acquire(timeout=self.timeout):
                self._thread_lock = lock
                return True
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            else:
                self._fd = fd
                return True

    def release(self) -> None:
        if self._fd is not None and sys.platform != "win32":
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._thread_lock is not None:  # pragma: no cover - Windows
            self._thread_lock.release()
            self._thread_lock = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
