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
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from qhub._quarantine import APPLICATION_ID, check_owned, is_corruption, quarantine
from qhub._redact import scrub_known_in
from qhub._warn import shown_path, warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import (
    BEHAVE,
    Figures,
    HistoryUnavailableError,
    NothingRecordedError,
    PinnedBaseline,
    RunSummary,
    StoredPart,
)
from qhub.profiling.history.codec import (
    decode_document,
    decode_figures,
    decode_parts,
    decode_run_list,
    decode_stored,
    encode,
    encode_document,
    encode_figures,
)
from qhub.profiling.history.rows import RUN_COLS, lane_of, run_meta, summary_from_row
from qhub.profiling.history.sqlite_migrations import SCHEMA_VERSION, ensure_schema
from qhub.profiling.history.summary import PartFigures, doomed_runs, summarize
from qhub.profiling.record import RecordError, RunRecord

WHAT = "run history"

KNOWN_TABLES = frozenset(
    {"runs", "parts", "damaged_parts", "baselines", "workers", "qhub_meta", "shard_plans",
     "sqlite_sequence"}
)  # fmt: skip
"""Tables a qhub history may hold: a file without qhub's application_id holding others is
someone else's database."""
_NOW = "%Y-%m-%dT%H:%M:%SZ"


class SQLiteHistory:
    """The run-history database at ``path`` (see the module docstring)."""

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
            version = ensure_schema(db, readonly=True)
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                db.close()
            raise self._unusable(exc) from None
        self._db = db
        self._legacy = version < SCHEMA_VERSION

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
        self._legacy = False

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
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            ensure_schema(db, readonly=False)
            if app_id != APPLICATION_ID:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
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
        if "locked" in text or "busy" in text:
            return HistoryUnavailableError(
                f"{WHAT} {self.location} is locked by another process; gave up after"
                f" {self.timeout_s:g} s"
            )
        return HistoryUnavailableError(f"{WHAT} {self.location} cannot be used ({text})")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise ProfilerError(f"{WHAT} {self.location} is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def __enter__(self) -> SQLiteHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise ProfilerError(f"{WHAT} {self.location} is open read-only")
        db = self.db
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

    def _guard(self, action: Any) -> Any:
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

    # -- parts and runs --------------------------------------------------------------------
    def add_part(self, record: RunRecord, *, kind: str = BEHAVE) -> None:
        """Store one part, update its run's summary and apply retention."""
        run = record.run
        self._store_part(
            part=run.part, run_id=run.id, kind=kind, worker=run.worker_id, lane=lane_of(record),
            start_ms=run.start_epoch_ms, finished_at=run.finished_at, status=run.status,
            wall_ms=run.wall_ms, step_ms=record.attribution.ms("step_bodies"),
            blob=encode(record), meta=run_meta(record),
        )  # fmt: skip

    def add_document(
        self,
        document: Mapping[str, Any],
        *,
        run_id: str,
        part: str,
        kind: str,
        status: str = "passed",
        wall_ms: float = 0.0,
        finished_at: str = "",
        pipeline: str | None = None,
    ) -> None:
        self._store_part(
            part=part, run_id=run_id, kind=kind, worker=None, lane=None, start_ms=None,
            finished_at=finished_at, status=status, wall_ms=wall_ms, step_ms=None,
            blob=encode_document(scrub_known_in(document)), meta={"pipeline": pipeline},
        )  # fmt: skip

    def _store_part(self, *, blob: bytes, meta: Mapping[str, Any], **part: Any) -> None:
        def write() -> None:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO parts (id, run_id, kind, worker_id, lane, start_ms,"
                    " finished_at, status, wall_ms, step_ms, doc)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (part["part"], part["run_id"], part["kind"], part["worker"], part["lane"],
                     part["start_ms"], part["finished_at"], part["status"], part["wall_ms"],
                     part["step_ms"], blob),
                )  # fmt: skip
                self._refresh_run(db, part["run_id"], part["kind"], meta)
                self._apply_retention(db)

        self._guard(write)

    def _refresh_run(
        self, db: sqlite3.Connection, run_id: str, kind: str, meta: Mapping[str, Any]
    ) -> None:
        rows = db.execute(
            "SELECT status, wall_ms, step_ms, finished_at, lane, start_ms FROM parts"
            " WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        summary = summarize(PartFigures(*row) for row in rows)
        dirty = meta.get("git_dirty")
        values = (
            meta.get("pipeline"), summary.finished_at, summary.wall_ms, summary.step_ms,
            summary.status, meta.get("git_commit"), meta.get("git_branch"),
            None if dirty is None else int(dirty), meta.get("host"), meta.get("python"),
            meta.get("behave_version"), meta.get("qhub_version"), summary.parts,
        )  # fmt: skip
        if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            db.execute(
                "INSERT INTO runs (pipeline, finished_at, wall_ms, step_ms, status, git_commit,"
                " git_branch, git_dirty, host, python, behave_version, qhub_version, parts, kind,"
                " id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, kind, run_id),
            )
        else:
            # later parts keep the run's place in the order (seq) but update its summary
            db.execute(
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

    def _apply_retention(self, db: sqlite3.Connection) -> None:
        pinned = {rid for runs in self._pinned(db) for rid in runs}
        rows = db.execute("SELECT id, kind, seq FROM runs").fetchall()
        doomed = [(rid,) for rid in doomed_runs(rows, self.retention, pinned)]
        if doomed:
            db.executemany("DELETE FROM parts WHERE run_id = ?", doomed)
            db.executemany("DELETE FROM workers WHERE run_id = ?", doomed)
            db.executemany("DELETE FROM runs WHERE id = ?", doomed)

    def set_figures(self, run_id: str, figures: Figures, *, parts: int | None = None) -> bool:
        blob = encode_figures(figures)

        def write() -> bool:
            with self._write() as db:
                if parts is None:
                    cursor = db.execute("UPDATE runs SET figures = ? WHERE id = ?", (blob, run_id))
                else:
                    cursor = db.execute(
                        "UPDATE runs SET figures = ? WHERE id = ? AND parts = ?",
                        (blob, run_id, parts),
                    )
                return cursor.rowcount > 0

        return bool(self._guard(write))

    def runs(
        self, limit: int | None = None, *, pipeline: str | None = None, kind: str | None = BEHAVE
    ) -> list[RunSummary]:
        sql = f"SELECT {RUN_COLS} FROM runs WHERE 1 = 1"
        args: list[Any] = []
        if pipeline is not None:
            sql += " AND pipeline = ?"
            args.append(pipeline)
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._guard(lambda: self.db.execute(sql, args).fetchall())
        return [summary_from_row(row) for row in rows]

    def get_run(self, run_id: str) -> RunSummary | None:
        def find() -> Any:
            row = self.db.execute(f"SELECT {RUN_COLS} FROM runs WHERE id = ?", (run_id,))
            found = row.fetchone()
            if found is None:
                owner = self.db.execute(
                    "SELECT run_id FROM parts WHERE id = ?", (run_id,)
                ).fetchone()
                if owner is not None:
                    found = self.db.execute(
                        f"SELECT {RUN_COLS} FROM runs WHERE id = ?", (owner[0],)
                    ).fetchone()
            return found

        row = self._guard(find)
        return summary_from_row(row) if row is not None else None

    def parts(self, run_id: str) -> list[RunRecord]:
        rows = self._guard(
            lambda: self.db.execute(
                "SELECT id, doc FROM parts WHERE run_id = ? AND kind = ? ORDER BY seq",
                (run_id, BEHAVE),
            ).fetchall()
        )
        out, damaged = decode_parts(rows)
        if damaged:
            self._set_aside(run_id, damaged)
        return out

    def documents(self, run_id: str) -> list[StoredPart]:
        rows = self._guard(
            lambda: self.db.execute(
                "SELECT id, kind, status, wall_ms, finished_at, doc FROM parts"
                " WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        )
        out, damaged = decode_stored(rows)
        if damaged:
            self._set_aside(run_id, damaged)
        return out

    def _set_aside(self, run_id: str, damaged: list[tuple[str, str]]) -> None:
        """Say once that rows were damaged; with write access move them to damaged_parts."""
        first = damaged[0]
        if not self._damaged_said:
            self._damaged_said = True
            kept = "" if self.readonly else " (moved to table damaged_parts)"
            warn(
                f"{WHAT} {self.location}: {len(damaged)} damaged record(s) of run {run_id}"
                f" skipped{kept}: {first[1]}"
            )
        if self.readonly:
            return

        def move() -> None:
            with self._write() as db:
                for part_id, reason in damaged:
                    db.execute(
                        "INSERT OR REPLACE INTO damaged_parts (id, run_id, reason, moved_at, doc)"
                        " SELECT id, run_id, ?, ?, doc FROM parts WHERE id = ?",
                        (reason, time.strftime(_NOW, time.gmtime()), part_id),
                    )
                    db.execute("DELETE FROM parts WHERE id = ?", (part_id,))

        with contextlib.suppress(ProfilerError):
            self._guard(move)

    def figures(self, run_ids: Sequence[str]) -> dict[str, Figures]:
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        rows = self._guard(
            lambda: self.db.execute(
                f"SELECT id, figures FROM runs WHERE figures IS NOT NULL AND id IN ({marks})",
                list(run_ids),
            ).fetchall()
        )
        out: dict[str, Figures] = {}
        for run_id, blob in rows:
            figures = decode_figures(blob)
            if figures is not None:  # damaged figures: the trend just lacks this run's points
                out[str(run_id)] = figures
        return out

    # -- baselines -------------------------------------------------------------------------
    @staticmethod
    def _pinned(db: sqlite3.Connection) -> list[list[str]]:
        out = []
        for (raw,) in db.execute("SELECT runs FROM baselines"):
            runs = decode_run_list(raw)
            if runs is not None:
                out.append(runs)
        return out

    def set_baseline(self, run_ids: Sequence[str], name: str = "default") -> PinnedBaseline:
        if not run_ids:
            raise ProfilerError(f"no runs in {self.location} to pin as a baseline")
        created = time.strftime(_NOW, time.gmtime())
        return self.put_baseline(PinnedBaseline(name, created, tuple(run_ids)))

    def put_baseline(self, baseline: PinnedBaseline) -> PinnedBaseline:
        """Store ``baseline`` as it is (its creation time kept: imports)."""

        def write() -> None:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO baselines (name, created_at, runs) VALUES (?, ?, ?)",
                    (baseline.name, baseline.created_at, orjson.dumps(list(baseline.runs))),
                )

        self._guard(write)
        return baseline

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        row = self._guard(
            lambda: self.db.execute(
                "SELECT created_at, runs FROM baselines WHERE name = ?", (name,)
            ).fetchone()
        )
        if row is None:
            return None
        runs = decode_run_list(row[1])
        if runs is None:
            warn(f"{WHAT} {self.location}: the pinned baseline {name!r} is damaged; ignored")
            return None
        return PinnedBaseline(name, str(row[0]), tuple(runs))

    def baselines(self) -> list[PinnedBaseline]:
        rows = self._guard(
            lambda: self.db.execute(
                "SELECT name, created_at, runs FROM baselines ORDER BY name"
            ).fetchall()
        )
        out = []
        for name, created, raw in rows:
            runs = decode_run_list(raw)
            if runs is not None:
                out.append(PinnedBaseline(str(name), str(created), tuple(runs)))
        return out

    def clear_baseline(self, name: str = "default") -> bool:
        def write() -> bool:
            with self._write() as db:
                return db.execute("DELETE FROM baselines WHERE name = ?", (name,)).rowcount > 0

        return bool(self._guard(write))

    # -- shard plans -----------------------------------------------------------------------
    def pin_plan(self, key: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        blob = encode_document(plan)
        created = time.strftime(_NOW, time.gmtime())

        def write() -> Any:
            with self._write() as db:
                db.execute(
                    "INSERT OR IGNORE INTO shard_plans (key, created_at, plan) VALUES (?, ?, ?)",
                    (key, created, blob),
                )
                return db.execute("SELECT plan FROM shard_plans WHERE key = ?", (key,)).fetchone()

        row = self._guard(write)
        try:
            return decode_document(row[0])
        except RecordError:
            return dict(plan)

    # -- coordinated runs ------------------------------------------------------------------
    def join_run(self, run_id: str, worker: str) -> None:
        def write() -> None:
            with self._write() as db:
                db.execute(
                    "INSERT OR IGNORE INTO workers (run_id, worker, done) VALUES (?, ?, 0)",
                    (run_id, worker),
                )

        self._guard(write)

    def leave_run(self, run_id: str, worker: str) -> bool:
        def write() -> bool:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO workers (run_id, worker, done) VALUES (?, ?, 1)",
                    (run_id, worker),
                )
                left = db.execute(
                    "SELECT COUNT(*) FROM workers WHERE run_id = ? AND done = 0", (run_id,)
                ).fetchone()[0]
                return int(left) == 0

        return bool(self._guard(write))
