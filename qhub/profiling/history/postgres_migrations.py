"""The PostgreSQL history schema and its migrations (one function per version step).

Versions count as the SQLite schema's do (the first PostgreSQL schema is version 3, the
SQLite schema it mirrors). Tables carry a ``qhub_`` prefix and live in the connection's
``search_path`` (a dedicated schema works: ``?options=-csearch_path%3Dqhub``). The version
lives in ``qhub_meta.schema``. Creating or migrating happens in one transaction under a
transaction-scoped advisory lock, so many runners starting at once against an empty
database neither race (concurrent ``CREATE TABLE IF NOT EXISTS`` can fail on PostgreSQL's
catalog) nor half-apply a step. A database from a *newer* qhub is refused with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import NothingRecordedError

SCHEMA_VERSION = 3
FIRST_VERSION = 3
LOCK_CLASS = 0x71687562
"""First key of qhub's advisory locks (``'qhub'``); the second is a hash of what is locked."""

_DDL_V3 = (
    """CREATE TABLE IF NOT EXISTS qhub_runs (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL DEFAULT 'behave',
        pipeline TEXT,
        finished_at TEXT,
        wall_ms DOUBLE PRECISION,
        step_ms DOUBLE PRECISION,
        status TEXT,
        git_commit TEXT,
        git_branch TEXT,
        git_dirty SMALLINT,
        host TEXT,
        python TEXT,
        behave_version TEXT,
        qhub_version TEXT,
        parts INTEGER NOT NULL DEFAULT 0,
        figures BYTEA
    )""",
    "CREATE INDEX IF NOT EXISTS qhub_runs_pipeline ON qhub_runs (pipeline)",
    "CREATE INDEX IF NOT EXISTS qhub_runs_kind ON qhub_runs (kind, seq)",
    """CREATE TABLE IF NOT EXISTS qhub_parts (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'behave',
        worker_id TEXT,
        lane TEXT,
        start_ms DOUBLE PRECISION,
        finished_at TEXT,
        status TEXT,
        wall_ms DOUBLE PRECISION,
        step_ms DOUBLE PRECISION,
        doc BYTEA NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS qhub_parts_run ON qhub_parts (run_id)",
    """CREATE TABLE IF NOT EXISTS qhub_damaged_parts (
        id TEXT PRIMARY KEY,
        run_id TEXT,
        reason TEXT,
        moved_at TEXT,
        doc BYTEA
    )""",
    """CREATE TABLE IF NOT EXISTS qhub_baselines (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        runs TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS qhub_workers (
        run_id TEXT NOT NULL,
        worker TEXT NOT NULL,
        done SMALLINT NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, worker)
    )""",
    """CREATE TABLE IF NOT EXISTS qhub_shard_plans (
        key TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        plan BYTEA NOT NULL
    )""",
)


def _create_v3(conn: Any) -> None:
    for statement in _DDL_V3:
        conn.execute(statement)


STEPS: dict[int, Callable[[Any], None]] = {}
"""Version n -> n + 1 (none yet: version 3 is PostgreSQL's first)."""


def schema_version(conn: Any) -> int:
    """0 for a database without qhub's tables, else the stored version."""
    row = conn.execute("SELECT to_regclass('qhub_meta')").fetchone()
    if row is None or row[0] is None:
        return 0
    found = conn.execute("SELECT value FROM qhub_meta WHERE key = 'schema'").fetchone()
    if found is None:
        return 0
    try:
        return int(found[0])
    except ValueError:
        raise ProfilerError(f"run history has an unreadable schema version {found[0]!r}") from None


def ensure_schema(conn: Any, *, readonly: bool) -> int:
    """Create or migrate the schema (unless ``readonly``); returns the version found."""
    version = schema_version(conn)
    _refuse_newer(version)
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
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))
        conn.execute("CREATE TABLE IF NOT EXISTS qhub_meta (key TEXT PRIMARY KEY, value TEXT)")
        version = schema_version(conn)  # another runner may have done it meanwhile
        _refuse_newer(version)
        if version == 0:
            _create_v3(conn)
        else:
            for step in range(max(version, FIRST_VERSION), SCHEMA_VERSION):
                STEPS[step](conn)
        conn.execute(
            "INSERT INTO qhub_meta (key, value) VALUES ('schema', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (str(SCHEMA_VERSION),),
        )
    return version


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise ProfilerError(
            f"run history was written by a newer qhub (schema {version}, this one knows"
            f" {SCHEMA_VERSION}); upgrade qhub"
        )
