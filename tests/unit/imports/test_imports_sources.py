"""Unreadable, undecodable, oversized, empty and broken files become findings."""

from __future__ import annotations

import os
from pathlib import Path

from qhub.imports.sources import read_source


class TestReadSource:
    """Each problem maps to a rule id and a line."""

    def test_ok_and_coding_cookie(self, tmp_path: Path) -> None:
        p = tmp_path / "latin.py"
        p.write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9'\n")
        src = read_source(p, "latin.py")
        assert src.problem is None and src.tree is not None and "é" in (src.text or "")

    def test_bad_utf8(self, tmp_path: Path) -> None:
        p = tmp_path / "bad.py"
        p.write_bytes(b"A = 1\nB = '\xff'\n")
        src = read_source(p, "bad.py")
        assert src.problem is not None and src.problem[0] == "QH002"

    def test_syntax_error_line(self, tmp_path: Path) -> None:
        p = tmp_path / "s.py"
        p.write_text("x = 1\n\ndef f(:\n")
        assert read_source(p, "s.py").problem == ("QH001", 3, "syntax error: invalid syntax")

    def test_too_large_not_read(self, tmp_path: Path) -> None:
        p = tmp_path / "big.py"
        p.write_bytes(b"#" * 2048)
        src = read_source(p, "big.py", max_bytes=1024)
        assert src.problem is not None and src.problem[0] == "QH003" and src.text is None

    def test_symlink_loop(self, tmp_path: Path) -> None:
        os.symlink("b.py", tmp_path / "a.py")
        os.symlink("a.py", tmp_path / "b.py")
        src = read_source(tmp_path / "a.py", "a.py")
        assert src.problem == ("QH002", 1, "cannot read file: symlink loop")

    def test_empty(self, tmp_path: Path) -> None:
        p = tmp_path / "e.py"
        p.write_text("\n\n")
        src = read_source(p, "e.py")
        assert src.problem is None and src.tree is not None and src.tree.body == []
