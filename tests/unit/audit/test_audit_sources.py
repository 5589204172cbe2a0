"""Reading one file: regular files only, limits, encodings, deep trees never crash."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from qhub.audit.sources import read_source


def test_ok_and_coding_cookie(tmp_path: Path) -> None:
    f = tmp_path / "a.py"
    f.write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n")
    src = read_source(f, "a.py")
    assert src.problem is None and src.tree is not None and "été" in (src.text or "")


def test_bad_utf8_and_syntax_error_lines(tmp_path: Path) -> None:
    bad = tmp_path / "b.py"
    bad.write_bytes(b"x = 1\ny = '\xff'\n")
    assert read_source(bad, "b.py").problem == (
        "QH002", 2, "cannot decode file: 'utf-8' codec can't decode byte 0xff in position 11: "
        "invalid start byte")
    syntax = tmp_path / "c.py"
    syntax.write_text("x = 1\ndef f(:\n")
    assert read_source(syntax, "c.py").problem[:2] == ("QH001", 2)  # type: ignore[index]


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.py"
    os.mkfifo(fifo)
    folder = tmp_path / "d.py"
    folder.mkdir()
    loop = tmp_path / "l.py"
    os.symlink("l.py", loop)
    assert read_source(fifo, "x.py").problem == ("QH002", 1, "a FIFO, not a Python file; skipped")
    assert read_source(folder, "d.py").problem == (
        "QH002", 1, "a folder, not a Python file; skipped")
    assert read_source(loop, "l.py").problem == ("QH002", 1, "cannot read file: symlink loop")


def test_too_large_and_deep(tmp_path: Path) -> None:
    big = tmp_path / "big.py"
    big.write_text("# x\n" * 400)
    assert read_source(big, "big.py", max_bytes=1000).problem[0] == "QH003"  # type: ignore[index]
    deep = tmp_path / "deep.py"
    deep.write_text("x = " + "+".join(["1"] * 200_000) + "\n")
    problem = read_source(deep, "deep.py").problem
    assert problem is not None and problem[0] in ("QH005", "QH001")


def test_newer_python_syntax_is_a_note_not_an_error(tmp_path: Path) -> None:
    f = tmp_path / "n.py"
    f.write_text("def f(:\n")
    newer = (sys.version_info[0], sys.version_info[1] + 1)
    src = read_source(f, "n.py", target_version=newer)
    assert src.problem is None and src.note and "not parsed by Python" in src.note
