"""The one inter-process file lock qhub uses: ``filelock``, always with a bounded wait.

``filelock`` is the well-kept cross-platform library for this (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows); it is imported on first use (about 30 ms), never at start-up.
A lock that cannot be had within its timeout, or whose file cannot be opened (read-only,
permission denied), raises :class:`LockUnavailableError`: one line, never a hang.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from qhub.exceptions import QHubError


class LockUnavailableError(QHubError):
    """A file lock was not acquired within its timeout, or its file could not be opened."""


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str], timeout: float, *, what: str = "lock"
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created when missing) for the ``with`` block.

    Waits at most ``timeout`` seconds (``0`` = try once). ``what`` names the lock in the
    error, e.g. ``"run history lock"``.
    """
    import filelock

    lock_path = Path(path)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LockUnavailableError(
            f"{what} {lock_path}: cannot create its folder ({exc.strerror})"
        ) from None
    lock = filelock.FileLock(str(lock_path), timeout=max(timeout, 0.0), thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockUnavailableError(
            f"{what} {lock_path} is held by another process; gave up after {timeout:g} s"
        ) from None
    except OSError as exc:
        raise LockUnavailableError(
            f"{what} {lock_path} cannot be opened ({exc.strerror or type(exc).__name__})"
        ) from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.release()
