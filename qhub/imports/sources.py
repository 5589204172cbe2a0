"""Reading one audited file safely: size limit, encodings, symlink loops, syntax errors.

A file that cannot be read or parsed becomes a finding; the audit goes on.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

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


def read_source(path: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SourceFile:
    """Read and parse ``path`` with the encoding Python itself would use (PEP 263)."""
    out = SourceFile(path=path, display=display)
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            out.problem = ("QH003", 1, f"{size / 1e6:.1f} MB is above the {max_bytes / 1e6:.1f} MB "
                           "limit; not analysed")
            return out
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        reason = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        out.problem = ("QH002", 1, f"cannot read file: {reason}")
        return out
    try:
        head = data[:400].split(b"\n", 2)[:2]
        if any(b"coding" in line for line in head):
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        else:  # the common case: no PEP 263 cookie, so UTF-8 (with or without BOM)
            encoding = "utf-8-sig"
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        out.problem = ("QH002", line, f"cannot decode file: {_first_line(exc)}")
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
        out.problem = ("QH001", exc.lineno or 1, f"syntax error: {exc.msg}")
    except ValueError as exc:
        out.problem = ("QH001", 1, f"cannot parse: {_first_line(exc)}")
    return out


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
