"""The one way qhub writes a file in place: temp file, fsync, rename.

A reader (or a crash, a full disk, a Ctrl-C) sees either the old content or the new, never
a truncated file. The temp file lives in the target's folder (a rename is atomic only
within one file system); an existing file's permission bits are kept; a symlink at the
target is replaced by the new file, its target is never written through.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from qhub.exceptions import QHubError


class AtomicWriteError(QHubError, OSError):
    """A file could not be written; the message is one line naming the file and why."""


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None
) -> Path:
    """Replace ``path`` with ``data`` atomically; returns the path written.

    ``mode``: permission bits for a new file (default 0o644 less the umask); an existing
    regular file keeps its own bits. The parent folder must exist.
    """
    target = Path(path)
    folder = target.parent
    keep_mode = _existing_mode(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise AtomicWriteError(f"cannot write {target}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_mode is not None:
            os.chmod(tmp, keep_mode)
        elif mode is not None:
            os.chmod(tmp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise AtomicWriteError(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return target


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """:func:`atomic_write_bytes` for text."""
    return atomic_write_bytes(path, text.encode(encoding, "surrogateescape"), mode=mode)


def _existing_mode(target: Path) -> int | None:
    try:
        info = target.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return stat.S_IMODE(info.st_mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every OS can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
