"""Run history in an embedded SQLite database (default ``.qhub/history.db``).

One row per run (per worker under parallel runners) holding its metadata columns and the
whole run document (zlib-compressed JSON). Safe with concurrent writers: WAL journal, a
busy timeout and ``BEGIN IMMEDIATE`` write transactions. Retention keeps the newest
``retention`` run groups plus any run pinned by a baseline.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from qhub.exceptions import HistoryCorruptError, HistoryQuarantinedError, ProfilerError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL,
    finished_at TEXT,
    wall_ms REAL,
    step_ms REAL,
    status TEXT,
    git_commit TEXT,
    git_branch TEXT,
    host TEXT,
    worker_id TEXT,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_grp ON runs (grp);
CREATE TABLE IF NOT EXISTS baselines (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    runs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS qhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_SUMMARY_COLS = (
    "seq, id, grp, finished_at, wall_ms, step_ms, status, git_commit, git_branch, host, worker_id"
)


def encode(doc: dict[str, Any]) -> bytes:
    """Compressed JSON of a run document."""
    return zlib.compress(orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS, default=str), level=6)


def decode(blob: bytes) -> dict[str, Any]:
    data = orjson.loads(zlib.decompress(blob))
    if not isinstance(data, dict):
        raise ValueError("run document is not an object")
    return data


class History:
    """The run-history database; open it with ``History(path)`` and close it (or ``with``)."""

    def __init__(
        self, path: str | os.PathLike[str], retention: int = 200, *, quarantine: bool = False
    ) -> None:
        """Open (or create) the database at ``path``.

        An unreadable database is moved aside (``<name>.corrupt-<time>``); then either
        :class:`HistoryCorruptError` is raised or, with ``quarantine=True``, a fresh one is
        started and :attr:`quarantined` names where the broken one went.
        """
        self.path = Path(path)
        self.retention = retention
        self.quarantined: Path | None = None
        """Where an unreadable database was moved to when this object opened it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connect()
        except HistoryQuarantinedError as exc:
            if not quarantine:
                raise
            self.quarantined = Path(exc.moved_to)
            self._connect()

    def _connect(self) -> None:
        try:
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_DDL)
            self._db.execute(
                "INSERT OR IGNORE INTO qhub_meta (key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise ProfilerError(f"run history {self.path} is locked: {exc}") from None
            moved = self._move_aside()
            raise HistoryQuarantinedError(
                f"run history {self.path} was unreadable ({exc}); moved aside to {moved}",
                str(moved),
            ) from None

    def quarantine(self) -> Path:
        """Move this (open, broken) database aside and start a fresh one in its place."""
        with contextlib.suppress(Exception):
            self._db.close()
        self.quarantined = self._move_aside()
        self._connect()
        return self.quarantined

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(f"{self.path}{suffix}", f"{target}{suffix}")
        return target

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------
    def record(self, doc: dict[str, Any]) -> None:
        """Store one run document and apply retention."""
        run = doc["run"]
        steps_ms = sum(p["ms"] for p in doc["attribution"]["parts"] if p["name"] == "step_bodies")
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (id, grp, finished_at, wall_ms, step_ms, status,"
                " git_commit, git_branch, host, worker_id, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run["id"], run["group"], run.get("finished_at"), run.get("wall_ms"),
                    steps_ms, run.get("status"), run.get("git_commit"), run.get("git_branch"),
                    run.get("host"), run.get("worker_id"), encode(doc),
                ),
            )  # fmt: skip
            self._apply_retention(db)

    def _apply_retention(self, db: sqlite3.Connection) -> None:
        pinned = {rid for runs in self._all_baseline_runs(db) for rid in runs}
        keep = {
            row[0]
            for row in db.execute(
                "SELECT grp FROM runs GROUP BY grp ORDER BY MAX(seq) DESC LIMIT ?",
                (self.retention,),
            )
        }
        doomed = [
            rid
            for rid, grp in db.execute("SELECT id, grp FROM runs")
            if grp not in keep and rid not in pinned
        ]
        db.executemany("DELETE FROM runs WHERE id = ?", [(rid,) for rid in doomed])

    def runs(self, limit: int | None = None, group: str | None = None) -> list[dict[str, Any]]:
        """Run summaries (no documents), newest first."""
        sql = f"SELECT {_SUMMARY_COLS} FROM runs"
        args: list[Any] = []
        if group is not None:
            sql += " WHERE grp = ?"
            args.append(group)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        cols = [c.strip() for c in _SUMMARY_COLS.split(",")]
        return [dict(zip(cols, row, strict=True)) for row in self._db.execute(sql, args)]

    def groups(self, limit: int = 50) -> list[dict[str, Any]]:
        """One summary per run group (newest first): workers, wall (max) and step time (sum)."""
        rows = self._db.execute(
            "SELECT grp, COUNT(*), MAX(wall_ms), SUM(step_ms), MAX(finished_at), MAX(seq),"
            " MAX(git_commit), GROUP_CONCAT(id) FROM runs"
            " GROUP BY grp ORDER BY MAX(seq) DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                "group": g, "workers": n, "wall_ms": wall, "step_ms": steps,
                "finished_at": fin, "seq": seq, "git_commit": commit,
                "runs": ids.split(",") if ids else [],
            }
            for g, n, wall, steps, fin, seq, commit, ids in rows
        ]  # fmt: skip

    def load(self, run_id: str) -> dict[str, Any]:
        """The stored document of one run; :class:`ProfilerError` if unknown."""
        row = self._db.execute("SELECT doc FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ProfilerError(f"no run {run_id!r} in {self.path}")
        try:
            return decode(row[0])
        except (zlib.error, ValueError) as exc:
            raise HistoryCorruptError(
                f"run {run_id!r} in {self.path} is unreadable: {exc}"
            ) from None

    def group_documents(self, group: str) -> list[dict[str, Any]]:
        """Documents of every run (worker) of ``group``, oldest first."""
        ids = [r["id"] for r in reversed(self.runs(group=group))]
        return [self.load(rid) for rid in ids]

    def latest_group(self) -> str | None:
        row = self._db.execute("SELECT grp FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def group_of(self, run_id: str) -> str:
        row = self._db.execute("SELECT grp FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ProfilerError(f"no run {run_id!r} in {self.path}")
        return str(row[0])

    # -- baselines -------------------------------------------------------------------------
    @staticmethod
    def _all_baseline_runs(db: sqlite3.Connection) -> list[list[str]]:
        return [orjson.loads(r[0]) for r in db.execute("SELECT runs FROM baselines")]

    def set_baseline(self, run_ids: list[str], name: str = "default") -> None:
        """Pin ``run_ids`` as the baseline called ``name`` (kept by retention)."""
        known = {r["id"] for r in self.runs()}
        missing = [r for r in run_ids if r not in known]
        if missing:
            raise ProfilerError(f"no run {missing[0]!r} in {self.path}")
        if not run_ids:
            raise ProfilerError(f"no runs in {self.path} to pin as a baseline")
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO baselines (name, created_at, runs) VALUES (?, ?, ?)",
                (name, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), orjson.dumps(run_ids)),
            )

    def baseline(self, name: str = "default") -> dict[str, Any] | None:
        """``{"name", "created_at", "runs"}`` of a pinned baseline, or ``None``."""
        row = self._db.execute(
            "SELECT created_at, runs FROM baselines WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        return {"name": name, "created_at": row[0], "runs": orjson.loads(row[1])}

    def clear_baseline(self, name: str = "default") -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM baselines WHERE name = ?", (name,)).rowcount > 0
