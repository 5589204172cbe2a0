"""The one quarantine routine for qhub's SQLite files (run history, on-disk cache).

Quarantine means: a damaged file is renamed aside and a new one started. It must protect
data, never destroy it, so it happens only when all of these hold:

- SQLite itself proves the file corrupt (``SQLITE_CORRUPT`` / ``SQLITE_NOTADB``), never for
  "locked", "busy", "read-only", "disk full", "I/O error" or "permission denied" (those are
  :func:`is_corruption` ``False``: the caller warns once and goes on without the store);
- the path is a regular file, not a symlink (a symlink's target is never touched), and it
  sits directly in the folder it was configured in (no symlinked folder leads elsewhere);
- the file is qhub's: a SQLite file whose ``application_id`` is qhub's (or unset, as files
  written before the id existed), or a non-SQLite file inside qhub's own state folder
  (``.qhub``). Anything else is refused with one line (:class:`ForeignFileError`), not
  converted.

Quarantine names are unique (time, pid, counter) and created with ``os.link``, which fails
rather than overwrite: an earlier quarantined file is never replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import time
from pathlib import Path

from qhub.exceptions import QHubError

APPLICATION_ID = 0x71687562
"""``PRAGMA application_id`` of every SQLite file qhub creates ('qhub')."""

SQLITE_MAGIC = b"SQLite format 3\x00"
STATE_FOLDER = ".qhub"
"""Name of qhub's own state folder: non-SQLite files found there are qhub's to move."""

_CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_CORRUPT_TEXT = ("malformed", "not a database", "file is encrypted")


class ForeignFileError(QHubError):
    """The configured path names a file that is not qhub's; qhub refuses to touch it."""


def is_corruption(exc: BaseException) -> bool:
    """True only when SQLite says the file itself is damaged or is not a database."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _CORRUPT_CODES:
        return True
    if isinstance(code, int):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _CORRUPT_TEXT)


def check_owned(path: Path, what: str) -> None:
    """Raise :class:`ForeignFileError` unless ``path`` is missing, empty or plausibly qhub's.

    Call it before opening ``path`` with SQLite: a non-qhub file must not be converted
    into a database (SQLite would happily write to an empty or foreign database).
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ForeignFileError(f"{what} {path}: cannot be examined ({exc.strerror})") from None
    real = path
    if stat.S_ISLNK(info.st_mode):
        real = Path(os.path.realpath(path))
        try:
            info = real.stat()
        except OSError:
            raise ForeignFileError(
                f"{what} {path} is a dangling symlink; qhub will not follow it"
            ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ForeignFileError(f"{what} {path} is not a regular file; qhub will not use it")
    head = _read_head(real) if info.st_size else b""
    if head is None:
        return
    if head.startswith(SQLITE_MAGIC):
        app_id = int.from_bytes(head[68:72], "big") if len(head) >= 72 else 0
        if app_id not in (0, APPLICATION_ID):
            raise ForeignFileError(
                f"{what} {path} is another program's SQLite database; qhub will not use it:"
                " choose another path"
            )
        return
    if (real is path and not head) or _in_state_folder(real):
        return
    raise ForeignFileError(
        f"{what} {path} exists and is not a qhub database; qhub will not overwrite it:"
        " move it away or choose another path"
    )


def quarantine(path: Path, what: str) -> Path:
    """Rename the corrupt file ``path`` (and its ``-wal``/``-shm``) aside; returns the new name.

    Raises :class:`ForeignFileError` when the rules in the module docstring forbid it.
    """
    try:
        info = path.lstat()
    except OSError as exc:
        raise ForeignFileError(f"{what} {path}: cannot be examined ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise ForeignFileError(
            f"{what} {path} is damaged and is a symlink; qhub moves only its own regular files:"
            " move it yourself"
        )
    if not stat.S_ISREG(info.st_mode):
        raise ForeignFileError(f"{what} {path} is not a regular file; qhub will not move it")
    head = _read_head(path) or b""
    if not head.startswith(SQLITE_MAGIC) and not _in_state_folder(path):
        raise ForeignFileError(
            f"{what} {path} is not a qhub database; qhub will not move it: choose another path"
        )
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for n in range(1000):
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{os.getpid()}-{n}")
        if _move_exclusive(path, target):
            break
    else:
        raise ForeignFileError(f"{what} {path}: no free quarantine name next to it")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):
            if stat.S_ISREG(side.lstat().st_mode):
                _move_exclusive(side, target.with_name(target.name + suffix))
    return target


def _move_exclusive(source: Path, target: Path) -> bool:
    """Move ``source`` to ``target`` unless ``target`` exists (then ``False``, nothing moved)."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links on this file system: claim the name exclusively, then move onto it
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        os.replace(source, target)
        return True
    os.unlink(source)
    return True


def _read_head(path: Path) -> bytes | None:
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        return os.read(fd, 100)
    except OSError:
        return None
    finally:
        os.close(fd)


def _in_state_folder(path: Path) -> bool:
    return path.parent.name == STATE_FOLDER
