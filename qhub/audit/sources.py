"""Reading one file safely: regular files only, a size limit, encodings, deep trees.

A file that cannot be read or parsed becomes a finding; the audit goes on. Nothing here
blocks: a FIFO or device named ``x.py`` is refused without opening it for a blocking read.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import stat
import sys
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

from qhub._bounded import InputLimitError, read_regular_file

DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass
class SourceFile:
    """A file's text and tree, or why it has none."""

    path: Path
    display: str
    text: str | None = None
    tree: ast.Module | None = None
    problem: tuple[str, int, str] | None = None
    """(rule id, line, message) when the file could not be read or parsed."""
    note: str | None = None
    """Why a file was not parsed without being at fault (newer Python syntax)."""


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def read_source(
    path: Path,
    display: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    target_version: tuple[int, int] | None = None,
) -> SourceFile:
    """Read and parse ``path`` with the encoding Python itself would use (PEP 263)."""
    out = SourceFile(path=path, display=display)
    try:
        info = os.stat(path)
        kind = _kind(info.st_mode)
        if kind is not None:
            out.problem = ("QH002", 1, f"{kind}, not a Python file; skipped")
            return out
        if info.st_size > max_bytes:
            out.problem = ("QH003", 1, f"{info.st_size / 1e6:.1f} MB is above the "
                           f"{max_bytes / 1e6:.1f} MB limit; not analysed")
            return out
        data = read_regular_file(path, max_bytes)
    except InputLimitError as exc:
        out.problem = ("QH002", 1, str(exc).replace(str(path), "file"))
        return out
    except OSError as exc:
        reason = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        out.problem = ("QH002", 1, f"cannot read file: {reason}")
        return out
    text = _decode(data, out)
    if text is None:
        return out
    out.text = text
    if not text.strip():
        out.tree = ast.Module(body=[], type_ignores=[])
        return out
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        if target_version is not None and target_version > sys.version_info[:2]:
            out.note = (f"{display}: not parsed by Python {sys.version_info[0]}."
                        f"{sys.version_info[1]} (the suite runs on "
                        f"{target_version[0]}.{target_version[1]}): {exc.msg}, line {exc.lineno}")
        else:
            out.problem = ("QH001", exc.lineno or 1, f"syntax error: {exc.msg}")
    except (RecursionError, MemoryError):
        out.problem = ("QH005", 1, "nested too deeply to analyse (Python's parser gave up)")
    except ValueError as exc:
        out.problem = ("QH001", 1, f"cannot parse: {_first_line(exc)}")
    return out


def _decode(data: bytes, out: SourceFile) -> str | None:
    try:
        head = data[:400].split(b"\n", 2)[:2]
        if any(b"coding" in line for line in head):
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        else:  # the common case: no PEP 263 cookie, so UTF-8 (with or without BOM)
            encoding = "utf-8-sig"
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        out.problem = ("QH002", line, f"cannot decode file: {_first_line(exc)}")
        return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
