"""The SQLite history schema and its migrations (one function per version step).

The version lives in ``qhub_meta.schema`` (version 1 wrote it too). A new database is
created at :data:`SCHEMA_VERSION` directly; an older one is migrated inside one
``BEGIN IMMEDIATE`` transaction, so a crash leaves it as it was. A database from a *newer*
qhub is refused with one line rather than written to.

Version 1 -> 2: one ``runs`` row per worker (with ``grp``) became a ``parts`` row; runs
are now one row per run id, with their summary recomputed from the parts; pinned
baselines, which named worker rows, now name their runs.

Version 2 -> 3: runs and parts have a ``kind`` (``behave``, ``stress``); parts keep their
*lane* (CI shard) and start time, so a run's wall time is its slowest shard; shard plans
pinned per CI pipeline (``shard_plans``).
"""

from __future__ import annotations

import sqlite3

import orjson

from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import NothingRecordedError

SCHEMA_VERSION = 3

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'behave',
    pipeline TEXT,
    finished_at TEXT,
    wall_ms REAL,
    step_ms REAL,
    status TEXT,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    host TEXT,
    python TEXT,
    behave_version TEXT,
    qhub_version TEXT,
    parts INTEGER NOT NULL DEFAULT 0,
    figures BLOB
);
CREATE INDEX IF NOT EXISTS runs_pipeline ON runs (pipeline);
CREATE TABLE IF NOT EXISTS parts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'behave',
    worker_id TEXT,
    lane TEXT,
    start_ms REAL,
    finished_at TEXT,
    status TEXT,
    wall_ms REAL,
    step_ms REAL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS parts_run ON parts (run_id);
CREATE TABLE IF NOT EXISTS damaged_parts (
    id TEXT PRIMARY KEY,
    run_id TEXT,
    reason TEXT,
    moved_at TEXT,
    doc BLOB
);
CREATE TABLE IF NOT EXISTS baselines (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    runs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    run_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, worker)
);
CREATE TABLE IF NOT EXISTS shard_plans (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    plan BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, seq);
CREATE TABLE IF NOT EXISTS qhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_DDL_V2 = """
-- version 2, kept for migrating version-1 files (then 2 -> 3)
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    pipeline TEXT,
    finished_at TEXT,
    wall_ms REAL,
    step_ms REAL,
    status TEXT,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    host TEXT,
    python TEXT,
    behave_version TEXT,
    qhub_version TEXT,
    parts INTEGER NOT NULL DEFAULT 0,
    figures BLOB
);
CREATE INDEX IF NOT EXISTS runs_pipeline ON runs (pipeline);
CREATE TABLE IF NOT EXISTS parts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    worker_id TEXT,
    finished_at TEXT,
    status TEXT,
    wall_ms REAL,
    step_ms REAL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS parts_run ON parts (run_id);
CREATE TABLE IF NOT EXISTS damaged_parts (
    id TEXT PRIMARY KEY,
    run_id TEXT,
    reason TEXT,
    moved_at TEXT,
    doc BLOB
);
CREATE TABLE IF NOT EXISTS baselines (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    runs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    run_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, worker)
);
CREATE TABLE IF NOT EXISTS qhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def schema_version(db: sqlite3.Connection) -> int:
    """0 for an empty database, else the stored version."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "qhub_meta" not in tables:
        return 1 if "runs" in tables else 0
    row = db.execute("SELECT value FROM qhub_meta WHERE key = 'schema'").fetchone()
    try:
        return int(row[0]) if row is not None else (1 if "runs" in tables else 0)
    except ValueError:
        raise ProfilerError(f"run history has an unreadable schema version {row[0]!r}") from None


def ensure_schema(db: sqlite3.Connection, *, readonly: bool) -> int:
    """Create or migrate the schema (unless ``readonly``); returns the version found."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise ProfilerError(
            f"run history was written by a newer qhub (schema {version}, this one knows"
            f" {SCHEMA_VERSION}); upgrade qhub"
        )
    if readonly:
        if version == 0:
            raise NothingRecordedError("no runs recorded yet: run behave with qhub")
        if version < SCHEMA_VERSION:
            raise ProfilerError(
                f"run history has schema {version}; the next behave run with qhub (or"
                " `qhub baseline set`) upgrades it"
            )
        return version
    if version == SCHEMA_VERSION:
        return version
    db.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(db)  # another process may have migrated meanwhile
        if version == 0:
            _create(db)
        elif version < SCHEMA_VERSION:
            for step in range(version, SCHEMA_VERSION):
                _STEPS[step](db)
        db.execute(
            "INSERT OR REPLACE INTO qhub_meta (key, value) VALUES ('schema', ?)",
            (str(SCHEMA_VERSION),),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return version


def _create(db: sqlite3.Connection) -> None:
    # statement by statement: executescript() would commit the open transaction
    for statement in _DDL.split(";"):
        if statement.strip():
            db.execute(statement)


def _create_v2(db: sqlite3.Connection) -> None:
    """The version-2 tables (what version 1 is migrated to before version 3)."""
    for statement in _DDL_V2.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1_to_v2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE runs RENAME TO runs_v1")
    db.execute("DROP INDEX IF EXISTS runs_grp")
    _create_v2(db)
    db.execute(
        "INSERT INTO parts (id, run_id, worker_id, finished_at, status, wall_ms, step_ms, doc)"
        " SELECT id, grp, worker_id, finished_at, status, wall_ms, step_ms, doc"
        " FROM runs_v1 ORDER BY seq"
    )
    db.execute(
        "INSERT INTO runs (id, finished_at, wall_ms, step_ms, status, git_commit, git_branch,"
        " host, parts)"
        " SELECT grp, MAX(finished_at), MAX(wall_ms), SUM(step_ms),"
        " CASE WHEN SUM(status = 'interrupted') > 0 THEN 'interrupted'"
        "      WHEN SUM(status = 'failed') > 0 THEN 'failed' ELSE 'passed' END,"
        " MAX(git_commit), MAX(git_branch), MAX(host), COUNT(*)"
        " FROM runs_v1 GROUP BY grp ORDER BY MAX(seq)"
    )
    group_of = dict(db.execute("SELECT id, grp FROM runs_v1").fetchall())
    for name, raw in db.execute("SELECT name, runs FROM baselines").fetchall():
        try:
            old = orjson.loads(raw)
        except ValueError:
            continue
        runs = list(dict.fromkeys(group_of.get(str(r), str(r)) for r in old or []))
        db.execute("UPDATE baselines SET runs = ? WHERE name = ?", (orjson.dumps(runs), name))
    db.execute("DROP TABLE runs_v1")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'behave'")
    db.execute("ALTER TABLE parts ADD COLUMN kind TEXT NOT NULL DEFAULT 'behave'")
    db.execute("ALTER TABLE parts ADD COLUMN lane TEXT")
    db.execute("ALTER TABLE parts ADD COLUMN start_ms REAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS shard_plans"
        " (key TEXT PRIMARY KEY, created_at TEXT NOT NULL, plan BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, seq)")


_STEPS = {1: _v1_to_v2, 2: _v2_to_v3}
"""Version n -> n + 1, applied in order inside one transaction."""
