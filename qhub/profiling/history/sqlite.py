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
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from qhub._quarantine import APPLICATION_ID, check_owned, is_corruption, quarantine
from qhub._warn import shown_path, warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import (
    Figures,
    HistoryUnavailableError,
    PinnedBaseline,
    RunSummary,
)
from qhub.profiling.history.sqlite_migrations import SCHEMA_VERSION, ensure_schema
from qhub.profiling.record import RecordError, RunRecord, to_json, worst_status

WHAT = "run history"
MAX_DOC_BYTES = 64 * 1024 * 1024
"""A stored record inflating beyond this is treated as damaged (a zlib bomb)."""

_RUN_COLS = (
    "id, seq, parts, finished_at, wall_ms, step_ms, status, pipeline, git_commit, git_branch,"
    " git_dirty, host, python, behave_version, qhub_version"
)
KNOWN_TABLES = frozenset(
    {"runs", "parts", "damaged_parts", "baselines", "workers", "qhub_meta", "sqlite_sequence"}
)
"""Tables a qhub history may hold: a file without qhub's application_id holding others is
someone else's database."""


def encode(record: RunRecord) -> bytes:
    """Compressed JSON of a record."""
    return zlib.compress(to_json(record), level=6)


def decode(blob: Any) -> RunRecord:
    """The record stored in ``blob``; :class:`RecordError` when it is damaged."""
    from qhub.profiling.documents import record_from_dict

    if not isinstance(blob, bytes):
        raise RecordError("stored record is not a blob")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, MAX_DOC_BYTES)
        if inflater.unconsumed_tail:
            raise RecordError(f"stored record inflates beyond {MAX_DOC_BYTES} bytes")
        data = orjson.loads(raw)
    except (zlib.error, ValueError) as exc:
        raise RecordError(f"stored record is unreadable: {exc}") from None
    return record_from_dict(data)


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
            raise ProfilerError(
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
    def add_part(self, record: RunRecord) -> None:
        """Store one part, update its run's summary and apply retention."""
        blob = encode(record)
        run = record.run
        step_ms = record.attribution.ms("step_bodies")

        def write() -> None:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO parts (id, run_id, worker_id, finished_at, status,"
                    " wall_ms, step_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run.part, run.id, run.worker_id, run.finished_at, run.status,
                     run.wall_ms, step_ms, blob),
                )  # fmt: skip
                self._refresh_run(db, record)
                self._apply_retention(db)

        self._guard(write)

    def _refresh_run(self, db: sqlite3.Connection, record: RunRecord) -> None:
        run = record.run
        rows = db.execute(
            "SELECT status, wall_ms, step_ms, finished_at FROM parts WHERE run_id = ?", (run.id,)
        ).fetchall()
        status = worst_status(r[0] for r in rows)
        wall = max((r[1] or 0.0 for r in rows), default=0.0)
        steps = sum(r[2] or 0.0 for r in rows)
        finished = max((r[3] or "" for r in rows), default="")
        dirty = None if run.git_dirty is None else int(run.git_dirty)
        values = (
            run.pipeline,
            finished,
            wall,
            steps,
            status,
            run.git_commit,
            run.git_branch,
            dirty,
            run.host,
            run.python,
            run.behave_version,
            run.qhub_version,
            len(rows),
        )
        if db.execute("SELECT 1 FROM runs WHERE id = ?", (run.id,)).fetchone() is None:
            db.execute(
                "INSERT INTO runs (pipeline, finished_at, wall_ms, step_ms, status, git_commit,"
                " git_branch, git_dirty, host, python, behave_version, qhub_version, parts, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, run.id),
            )
        else:
            # later parts keep the run's place in the order (seq) but update its summary
            db.execute(
                "UPDATE runs SET pipeline = COALESCE(pipeline, ?), finished_at = ?, wall_ms = ?,"
                " step_ms = ?, status = ?, git_commit = ?, git_branch = ?,"
                " git_dirty = MAX(COALESCE(git_dirty, 0), COALESCE(?, 0)), host = ?, python = ?,"
                " behave_version = ?, qhub_version = ?, parts = ?, figures = NULL WHERE id = ?",
                (*values, run.id),
            )  # fmt: skip

    def _apply_retention(self, db: sqlite3.Connection) -> None:
        pinned = {rid for runs in self._pinned(db) for rid in runs}
        keep = {
            row[0]
            for row in db.execute(
                "SELECT id FROM runs ORDER BY seq DESC LIMIT ?", (self.retention,)
            )
        }
        doomed = [
            (rid,) for (rid,) in db.execute("SELECT id FROM runs") if rid not in keep | pinned
        ]
        if doomed:
            db.executemany("DELETE FROM parts WHERE run_id = ?", doomed)
            db.executemany("DELETE FROM workers WHERE run_id = ?", doomed)
            db.executemany("DELETE FROM runs WHERE id = ?", doomed)

    def set_figures(self, run_id: str, figures: Figures) -> None:
        blob = zlib.compress(orjson.dumps(figures), level=6)

        def write() -> None:
            with self._write() as db:
                db.execute("UPDATE runs SET figures = ? WHERE id = ?", (blob, run_id))

        self._guard(write)

    def runs(self, limit: int | None = None, *, pipeline: str | None = None) -> list[RunSummary]:
        sql = f"SELECT {_RUN_COLS} FROM runs"
        args: list[Any] = []
        if pipeline is not None:
            sql += " WHERE pipeline = ?"
            args.append(pipeline)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._guard(lambda: self.db.execute(sql, args).fetchall())
        return [_summary(row) for row in rows]

    def get_run(self, run_id: str) -> RunSummary | None:
        def find() -> Any:
            row = self.db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,))
            found = row.fetchone()
            if found is None:
                owner = self.db.execute(
                    "SELECT run_id FROM parts WHERE id = ?", (run_id,)
                ).fetchone()
                if owner is not None:
                    found = self.db.execute(
                        f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (owner[0],)
                    ).fetchone()
            return found

        row = self._guard(find)
        return _summary(row) if row is not None else None

    def parts(self, run_id: str) -> list[RunRecord]:
        rows = self._guard(
            lambda: self.db.execute(
                "SELECT id, doc FROM parts WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        )
        out: list[RunRecord] = []
        damaged: list[tuple[str, str]] = []
        for part_id, blob in rows:
            try:
                out.append(decode(blob))
            except RecordError as exc:
                damaged.append((str(part_id), str(exc)))
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
                        (reason, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), part_id),
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
            try:
                data = orjson.loads(zlib.decompress(blob, bufsize=1 << 16))
                out[str(run_id)] = {
                    str(kind): {str(k): (float(v[0]), int(v[1])) for k, v in items.items()}
                    for kind, items in data.items()
                }
            except (zlib.error, ValueError, TypeError, AttributeError, IndexError):
                continue  # damaged figures: the trend just lacks this run's points
        return out

    # -- baselines -------------------------------------------------------------------------
    @staticmethod
    def _pinned(db: sqlite3.Connection) -> list[list[str]]:
        out = []
        for (raw,) in db.execute("SELECT runs FROM baselines"):
            try:
                runs = orjson.loads(raw)
            except ValueError:
                continue
            if isinstance(runs, list):
                out.append([str(r) for r in runs])
        return out

    def set_baseline(self, run_ids: Sequence[str], name: str = "default") -> PinnedBaseline:
        if not run_ids:
            raise ProfilerError(f"no runs in {self.location} to pin as a baseline")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def write() -> None:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO baselines (name, created_at, runs) VALUES (?, ?, ?)",
                    (name, created, orjson.dumps(list(run_ids))),
                )

        self._guard(write)
        return PinnedBaseline(name, created, tuple(run_ids))

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        row = self._guard(
            lambda: self.db.execute(
                "SELECT created_at, runs FROM baselines WHERE name = ?", (name,)
            ).fetchone()
        )
        if row is None:
            return None
        try:
            runs = orjson.loads(row[1])
        except ValueError:
            runs = None
        if not isinstance(runs, list):
            warn(f"{WHAT} {self.location}: the pinned baseline {name!r} is damaged; ignored")
            return None
        return PinnedBaseline(name, str(row[0]), tuple(str(r) for r in runs))

    def clear_baseline(self, name: str = "default") -> bool:
        def write() -> bool:
            with self._write() as db:
                return db.execute("DELETE FROM baselines WHERE name = ?", (name,)).rowcount > 0

        return bool(self._guard(write))

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


def _summary(row: Sequence[Any]) -> RunSummary:
    (run_id, seq, parts, finished, wall, steps, status, pipeline, commit, branch, dirty, host,
     python, behave, qhub) = row  # fmt: skip
    return RunSummary(
        id=str(run_id),
        seq=int(seq),
        parts=int(parts or 0),
        finished_at=finished,
        wall_ms=wall,
        step_ms=steps,
        status=status,
        pipeline=pipeline,
        git_commit=commit,
        git_branch=branch,
        git_dirty=None if dirty is None else bool(dirty),
        host=host,
        python=python,
        behave_version=behave,
        qhub_version=qhub,
    )
