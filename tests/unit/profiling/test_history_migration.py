"""The SQLite history from schema 2 to 3 (kinds, lanes, shard plans), in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from qhub.profiling.history.codec import encode
from qhub.profiling.history.sqlite import SQLiteHistory
from qhub.profiling.history.sqlite_migrations import _DDL_V2


def make_v2(path: Path, record: Any) -> None:
    db = sqlite3.connect(path)
    for statement in _DDL_V2.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT INTO qhub_meta VALUES ('schema', '2')")
    db.execute(
        "INSERT INTO parts (id, run_id, worker_id, finished_at, status, wall_ms, step_ms, doc)"
        " VALUES ('p1', 'r1', NULL, '2026-01-01T00:00:00Z', 'passed', 100.0, 6.0, ?)",
        (encode(record),),
    )
    db.execute(
        "INSERT INTO runs (id, finished_at, wall_ms, step_ms, status, parts)"
        " VALUES ('r1', '2026-01-01T00:00:00Z', 100.0, 6.0, 'passed', 1)"
    )
    db.commit()
    db.close()


def test_v2_to_v3(tmp_path: Path, record_factory: Any) -> None:
    path = tmp_path / "h.db"
    make_v2(path, record_factory("r1", "p1"))
    with SQLiteHistory(path) as history:
        [run] = history.runs()
        assert (run.id, run.kind, run.parts) == ("r1", "behave", 1)
        assert [p.run.part for p in history.parts("r1")] == ["p1"]
        history.add_part(record_factory("r1", "p2"))  # new columns written
        assert history.runs()[0].parts == 2
        assert history.pin_plan("k", {"a": 1}) == {"a": 1}
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM qhub_meta WHERE key='schema'").fetchone() == ("3",)
    columns = {row[1] for row in db.execute("PRAGMA table_info(parts)")}
    assert {"kind", "lane", "start_ms"} <= columns
