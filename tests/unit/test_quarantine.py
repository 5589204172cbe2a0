"""Quarantine protects data: only qhub's corrupt regular files, unique names, no overwrite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qhub._quarantine import (
    APPLICATION_ID,
    ForeignFileError,
    check_owned,
    is_corruption,
    quarantine,
)


def _error_of(path: Path) -> sqlite3.DatabaseError:
    try:
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        return exc
    raise AssertionError("no error")


class TestIsCorruption:
    """qhub._quarantine.is_corruption."""

    def test_not_a_database(self, tmp_path: Path) -> None:
        (tmp_path / "x.db").write_bytes(b"garbage" * 200)
        assert is_corruption(_error_of(tmp_path / "x.db"))

    @pytest.mark.parametrize(
        "message",
        ["database is locked", "attempt to write a readonly database", "disk I/O error",
         "database or disk is full", "unable to open database file"],
    )
    def test_operational_errors_are_not_corruption(self, message: str) -> None:
        assert not is_corruption(sqlite3.OperationalError(message))

    def test_other_exceptions(self) -> None:
        assert not is_corruption(OSError("malformed"))


class TestCheckOwned:
    """qhub._quarantine.check_owned."""

    def test_missing_and_empty_are_fine(self, tmp_path: Path) -> None:
        check_owned(tmp_path / "none.db", "cache file")
        (tmp_path / "empty.db").write_bytes(b"")
        check_owned(tmp_path / "empty.db", "cache file")

    def test_foreign_text_file_refused(self, tmp_path: Path) -> None:
        notes = tmp_path / "notes.txt"
        notes.write_text("my notes")
        with pytest.raises(ForeignFileError, match=r"is not a qhub database; qhub will not"):
            check_owned(notes, "run history")

    def test_garbage_in_state_folder_is_qhubs(self, tmp_path: Path) -> None:
        state = tmp_path / ".qhub"
        state.mkdir()
        (state / "history.db").write_bytes(b"garbage")
        check_owned(state / "history.db", "run history")

    def test_other_programs_database_refused(self, tmp_path: Path) -> None:
        db = tmp_path / "app.db"
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA application_id = 1234")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        with pytest.raises(ForeignFileError, match="another program's SQLite database"):
            check_owned(db, "cache file")

    def test_qhub_database_accepted(self, tmp_path: Path) -> None:
        db = tmp_path / "c.db"
        conn = sqlite3.connect(db)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        check_owned(db, "cache file")

    def test_symlink_to_file_outside_refused(self, tmp_path: Path) -> None:
        state = tmp_path / ".qhub"
        state.mkdir()
        outside = tmp_path / "passwd"
        outside.write_text("root:x:0:0")
        (state / "cache.db").symlink_to(outside)
        with pytest.raises(ForeignFileError, match="not a qhub database"):
            check_owned(state / "cache.db", "cache file")

    def test_fifo_refused(self, tmp_path: Path) -> None:
        import os

        os.mkfifo(tmp_path / "h.db")
        with pytest.raises(ForeignFileError, match="not a regular file"):
            check_owned(tmp_path / "h.db", "run history")


class TestQuarantine:
    """qhub._quarantine.quarantine."""

    def test_moves_file_and_side_files(self, tmp_path: Path) -> None:
        state = tmp_path / ".qhub"
        state.mkdir()
        db = state / "history.db"
        db.write_bytes(b"garbage")
        (state / "history.db-wal").write_bytes(b"wal")
        moved = quarantine(db, "run history")
        assert not db.exists()
        assert moved.read_bytes() == b"garbage"
        assert moved.with_name(moved.name + "-wal").read_bytes() == b"wal"

    def test_names_unique_never_overwrite(self, tmp_path: Path) -> None:
        state = tmp_path / ".qhub"
        state.mkdir()
        db = state / "history.db"
        contents = [b"first", b"second", b"third"]
        moved = []
        for content in contents:
            db.write_bytes(content)
            moved.append(quarantine(db, "run history"))
        assert len(set(moved)) == 3
        assert [m.read_bytes() for m in moved] == contents

    def test_symlink_never_moved(self, tmp_path: Path) -> None:
        outside = tmp_path / "precious"
        outside.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
        state = tmp_path / ".qhub"
        state.mkdir()
        (state / "cache.db").symlink_to(outside)
        with pytest.raises(ForeignFileError, match="is a symlink"):
            quarantine(state / "cache.db", "cache file")
        assert outside.read_bytes().startswith(b"SQLite format 3")
        assert (state / "cache.db").is_symlink()

    def test_foreign_file_outside_state_folder_not_moved(self, tmp_path: Path) -> None:
        notes = tmp_path / "history.db"
        notes.write_text("not sqlite")
        with pytest.raises(ForeignFileError):
            quarantine(notes, "run history")
        assert notes.read_text() == "not sqlite"
