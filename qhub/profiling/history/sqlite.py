"""Run history in an embedded SQLite database (default ``.qhub/history.db``).

Tables: ``parts`` (one row per process's part: a few columns and the compressed JSON
record), ``runs`` (one row per run id, its summary recomputed as parts arrive, plus the
per-item figures trends are drawn from), ``baselines``, ``workers`` (who is still running
a coordinated run) and ``qhub_meta`` (schema version). Schema changes are migrations
(:mod:`qhub.profiling.history.sqlite_migrations`); the file carries qhub's
``PRAGMA application_id``.

Safety (see ``docs/reliability.md``): a path that names someone else's file is refused
(:func:`qhub._quarantine.check_owned`); only a file SQLite itself proves corrupt is moved
aside (:func:`qhub._quarantine.quarantine`), never one that is locked, busy, read-only,
on a full disk or unreadable for lack of permission — those raise
:class:`~qhub.profiling.history.HistoryUnavailableError` and the run goes on without
recording. Every wait is bounded (``busy_timeout``). One damaged row is skipped and said
once; with write access it is moved to ``damaged_parts``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from qhub._quarantine import APPLICATION_ID, check_owned, is_corruption, quarantine
from qhub._sqlite_busy import is_busy, retry_busy
from qhub._warn import shown_path, warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import HistoryUnavailableError, NothingRecordedError
from qhub.profiling.history.sql import WHAT, SQLHistory
from qhub.profiling.history.sqlite_migrations import ensure_schema

T = TypeVar("T")

KNOWN_TABLES = frozenset(
    {"runs", "parts", "damaged_parts", "baselines", "workers", "qhub_meta", "shard_plans",
     "sqlite_sequence"}
)  # fmt: skip
"""Tables a qhub history may hold: a file without qhub's application_id holding others is
someone else's database."""


class SQLiteHistory(SQLHistory):
    """The run-history database at ``path`` (see the module docstring); the queries are
    :class:`~qhub.profiling.history.sql.SQLHistory`'s."""

    UPSERT = {
        "part": "INSERT OR REPLACE INTO parts (id, run_id, kind, worker_id, lane, start_ms,"
        " finished_at, status, wall_ms, step_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "damaged": "INSERT OR REPLACE INTO damaged_parts (id, run_id, reason, moved_at, doc)"
        " SELECT id, run_id, ?, ?, doc FROM parts WHERE id = ?",
        "baseline": "INSERT OR REPLACE INTO baselines (name, created_at, runs) VALUES (?, ?, ?)",
        "plan": "INSERT OR IGNORE INTO shard_plans (key, created_at, plan) VALUES (?, ?, ?)",
        "join": "INSERT OR IGNORE INTO workers (run_id, worker, done) VALUES (?, ?, 0)",
        "leave": "INSERT OR REPLACE INTO workers (run_id, worker, done) VALUES (?, ?, 1)",
    }

    def __init__(
        self,
        path: str | os.PathLike[str],
        retention: int = 200,
        *,
        timeout_s: float = 10.0,
        readonly: bool = False,
        root: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.retention = retention
        self.timeout_s = timeout_s
        self.readonly = readonly
        self._root = root
        self.location = shown_path(self.path, root)
        self.quarantined: Path | None = None
        """Where a corrupt database was moved when this object opened it."""
        self._damaged_said = False
        self._db: sqlite3.Connection | None = None
        if readonly:
            self._open_readonly()
        else:
            self._open_writable()

    # -- opening ---------------------------------------------------------------------------
    def _open_readonly(self) -> None:
        try:
            exists = self.path.exists()
        except OSError as exc:
            raise HistoryUnavailableError(f"{WHAT} {self.location}: {exc.strerror}") from None
        if not exists:
            raise NothingRecordedError(
                f"no runs recorded yet ({self.location} does not exist): run behave with qhub"
            )
        self._check_owned()
        try:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=self.timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            ensure_schema(db, readonly=True)
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                db.close()
            raise self._unusable(exc) from None
        self._db = db

    def _open_writable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryUnavailableError(
                f"{WHAT} {self.location}: cannot create its folder ({exc.strerror})"
            ) from None
        self._check_owned()
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise self._unusable(exc) from None
            self._quarantine(exc)
            try:
                self._db = self._connect()
            except sqlite3.DatabaseError as again:
                raise self._unusable(again) from None

    def _check_owned(self) -> None:
        from qhub._quarantine import ForeignFileError

        try:
            check_owned(self.path, WHAT)
        except ForeignFileError as exc:
            raise HistoryUnavailableError(str(exc)) from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables - KNOWN_TABLES):
                raise HistoryUnavailableError(
                    f"{WHAT} {self.location} is another program's SQLite database; qhub will"
                    " not use it: choose another profiling.history_db"
                )
            # WAL stays set in the file; switching to it answers "locked" at once, without
            # the busy handler, while another process opens the file (a new history
            # opened by several runners together): retried within the same bound
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                retry_busy(lambda: db.execute("PRAGMA journal_mode = WAL"), self.timeout_s)
            db.execute("PRAGMA synchronous = NORMAL")
            ensure_schema(db, readonly=False)
            if app_id != APPLICATION_ID:
                retry_busy(
                    lambda: db.execute(f"PRAGMA application_id = {APPLICATION_ID}"),
                    self.timeout_s,
                )
        except BaseException:
            db.close()
            raise
        return db

    def _quarantine(self, exc: BaseException) -> None:
        from qhub._quarantine import ForeignFileError

        with contextlib.suppress(Exception):
            if self._db is not None:
                self._db.close()
        self._db = None
        try:
            moved = quarantine(self.path, WHAT)
        except (ForeignFileError, OSError) as refused:
            raise HistoryUnavailableError(f"{WHAT} {self.location} is damaged: {refused}") from None
        self.quarantined = moved
        warn(
            f"{WHAT} {self.location} was damaged ({exc}); moved to"
            f" {shown_path(moved, self._root)}; starting a new one",
            once=f"quarantine:{self.path}",
        )

    def _unusable(self, exc: BaseException) -> ProfilerError:
        text = str(exc) or type(exc).__name__
        if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
            return ProfilerError(f"{WHAT} {self.location} is damaged ({text})")
        if is_busy(exc):
            return HistoryUnavailableError(
                f"{WHAT} {self.location} is locked by another process; gave up after"
                f" {self.timeout_s:g} s"
            )
        return HistoryUnavailableError(f"{WHAT} {self.location} cannot be used ({text})")

    @property
    def conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ProfilerError(f"{WHAT} {self.location} is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    @contextlib.contextmanager
    def _write(self, run_id: str | None = None) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: writers queue on SQLite's own lock."""
        if self.readonly:
            raise ProfilerError(f"{WHAT} {self.location} is open read-only")
        db = self.conn
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None
        try:
            yield db
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise self._unusable(exc) from None

    def _guard(self, action: Callable[[], T]) -> T:
        """Run ``action()``; corruption found on the way quarantines the file once and retries."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if self.readonly or not is_corruption(exc):
                raise self._unusable(exc) from None
            self._quarantine(exc)
            try:
                self._db = self._connect()
                return action()
            except sqlite3.DatabaseError as again:
                raise self._unusable(again) from None

    def _save_run(
        self, conn: sqlite3.Connection, run_id: str, kind: str, values: Sequence[Any]
    ) -> None:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            conn.execute(
                "INSERT INTO runs (pipeline, finished_at, wall_ms, step_ms, status, git_commit,"
                " git_branch, git_dirty, host, python, behave_version, qhub_version, parts, kind,"
                " id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, kind, run_id),
            )
        else:
            # later parts keep the run's place in the order (seq) but update its summary
            conn.execute(
                "UPDATE runs SET pipeline = COALESCE(pipeline, ?), finished_at = ?, wall_ms = ?,"
                " step_ms = ?, status = ?, git_commit = COALESCE(?, git_commit),"
                " git_branch = COALESCE(?, git_branch),"
                " git_dirty = MAX(COALESCE(git_dirty, 0), COALESCE(?, 0)),"
                " host = COALESCE(?, host), python = COALESCE(?, python),"
                " behave_version = COALESCE(?, behave_version),"
                " qhub_version = COALESCE(?, qhub_version), parts = ?, figures = NULL"
                " WHERE id = ?",
                (*values, run_id),
            )  # fmt: skip
