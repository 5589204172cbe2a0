"""Atomic writes: old or new content, never torn; permissions kept; symlinks not followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qhub._atomic import AtomicWriteError, atomic_write_bytes, atomic_write_text


class TestAtomicWrite:
    """qhub._atomic.atomic_write_bytes / atomic_write_text."""

    def test_writes_new_file(self, tmp_path: Path) -> None:
        target = tmp_path / "r.json"
        atomic_write_text(target, "{}")
        assert target.read_text() == "{}"
        assert [p.name for p in tmp_path.iterdir()] == ["r.json"]

    def test_keeps_permission_bits_of_existing_file(self, tmp_path: Path) -> None:
        target = tmp_path / "steps.py"
        target.write_text("old")
        target.chmod(0o751)
        atomic_write_text(target, "new")
        assert target.read_text() == "new"
        assert stat.S_IMODE(target.stat().st_mode) == 0o751

    def test_replaces_symlink_not_its_target(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside.txt"
        outside.write_text("precious")
        link = tmp_path / "report.html"
        link.symlink_to(outside)
        atomic_write_text(link, "report")
        assert outside.read_text() == "precious"
        assert not link.is_symlink()
        assert link.read_text() == "report"

    def test_failure_leaves_old_content_and_no_temp_file(self, tmp_path: Path) -> None:
        target = tmp_path / "a.txt"
        target.write_text("old")

        with pytest.raises(TypeError):
            atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
        assert target.read_text() == "old"
        assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]

    @pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
    def test_read_only_folder_is_one_line_error(self, tmp_path: Path) -> None:
        folder = tmp_path / "ro"
        folder.mkdir()
        (folder / "a.txt").write_text("old")
        folder.chmod(0o500)
        try:
            pattern = r"^cannot write .*a\.txt: Permission denied$"
            with pytest.raises(AtomicWriteError, match=pattern):
                atomic_write_text(folder / "a.txt", "new")
        finally:
            folder.chmod(0o700)
        assert (folder / "a.txt").read_text() == "old"

    def test_missing_folder_is_one_line_error(self, tmp_path: Path) -> None:
        with pytest.raises(AtomicWriteError, match=r"^cannot write .*: No such file or directory$"):
            atomic_write_text(tmp_path / "nope" / "a.txt", "x")
