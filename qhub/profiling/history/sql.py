"""What the SQL history backends share: the history contract, written once.

:class:`SQLHistory` holds every query and write of :class:`~qhub.profiling.history.base.
RunHistory` over the few things in which SQLite and PostgreSQL differ, which its two
subclasses state:

- how a statement is spelled: the tables' prefix (``qhub_`` in PostgreSQL, which shares a
  database with other programs) and the parameter mark (``?`` or ``%s``); statements here
  are written once with ``{t}`` before each table name and ``?`` for each parameter;
- the upserts, whose dialects differ (``INSERT OR REPLACE`` or ``ON CONFLICT``), in
  :attr:`SQLHistory.UPSERT`, and how a run's summary row is saved (:meth:`_save_run`);
- how a write transaction is opened (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
  transaction holding the run's advisory lock), how a failing statement is retried or
  reported (:meth:`_guard`), and who applies retention (:meth:`_claim_retention`).

Opening, closing and the connection itself stay with each backend.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, TypeVar

import orjson

from qhub._redact import scrub_known_in
from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import BEHAVE, Figures, PinnedBaseline, RunSummary, StoredPart
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
from qhub.profiling.history.summary import PartFigures, doomed_runs, summarize
from qhub.profiling.record import RecordError, RunRecord

WHAT = "run history"
NOW = "%Y-%m-%dT%H:%M:%SZ"
"""UTC timestamps as the history stores them."""
_CHUNK = 500
"""Ids per ``IN (...)`` list: far below either database's limit on parameters."""
RUN_VALUES = (
    "pipeline", "finished_at", "wall_ms", "step_ms", "status", "git_commit", "git_branch",
    "git_dirty", "host", "python", "behave_version", "qhub_version", "parts",
)  # fmt: skip
"""The run-row columns :meth:`SQLHistory._save_run` receives values for, in this order."""
T = TypeVar("T")


class SQLHistory(ABC):
    """The history contract over one SQL connection (see the module docstring)."""

    TABLE_PREFIX: ClassVar[str] = ""
    MARK: ClassVar[str] = "?"
    UPSERT: ClassVar[Mapping[str, str]] = {}
    """The dialect's spelling of ``part`` (store a part), ``damaged`` (move a part aside),
    ``baseline``, ``plan`` (insert unless there), ``join`` and ``leave`` (a worker)."""

    location: str
    readonly: bool
    retention: int
    _damaged_said: bool
    _spelled: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._spelled = {}

    # -- what each backend provides ----------------------------------------------------------
    @property
    @abstractmethod
    def conn(self) -> Any:
        """The open connection (:class:`ProfilerError` once closed)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    @abstractmethod
    def _write(self, run_id: str | None = None) -> contextlib.AbstractContextManager[Any]:
        """One write transaction yielding the connection; ``run_id``: the run written to."""

    @abstractmethod
    def _guard(self, action: Callable[[], T]) -> T:
        """``action()``, with the backend's recovery; driver errors become one line."""

    @abstractmethod
    def _save_run(self, conn: Any, run_id: str, kind: str, values: Sequence[Any]) -> None:
        """Insert the run's summary row or update it (keeping its place in the order).

        ``values``: one per column of :data:`RUN_VALUES`, in that order."""

    def _claim_retention(self, conn: Any) -> bool:
        """True when this writer applies retention now (another may be doing it)."""
        return True

    def _baseline_runs(self, runs: Sequence[str]) -> Any:
        """A pinned baseline's run ids as its column stores them (JSON)."""
        return orjson.dumps(list(runs))

    # -- spelling --------------------------------------------------------------------------
    def _spell(self, sql: str) -> str:
        """``sql`` written with ``{t}`` table prefixes and ``?`` marks, in this dialect."""
        spelled = self._spelled.get(sql)
        if spelled is None:
            spelled = sql.format(t=self.TABLE_PREFIX)
            if self.MARK != "?":
                spelled = spelled.replace("?", self.MARK)
            self._spelled[sql] = spelled
        return spelled

    def _execute(self, conn: Any, sql: str, args: Sequence[Any] = ()) -> Any:
        return conn.execute(self._spell(sql), args)

    def __enter__(self) -> SQLHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
            with self._write(part["run_id"]) as conn:
                self._execute(
                    conn, self.UPSERT["part"],
                    (part["part"], part["run_id"], part["kind"], part["worker"], part["lane"],
                     part["start_ms"], part["finished_at"], part["status"], part["wall_ms"],
                     part["step_ms"], blob),
                )  # fmt: skip
                self._refresh_run(conn, part["run_id"], part["kind"], meta)
                self._apply_retention(conn)

        self._guard(write)

    def _refresh_run(self, conn: Any, run_id: str, kind: str, meta: Mapping[str, Any]) -> None:
        rows = self._execute(
            conn,
            "SELECT status, wall_ms, step_ms, finished_at, lane, start_ms FROM {t}parts"
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
        self._save_run(conn, run_id, kind, values)

    def _apply_retention(self, conn: Any) -> None:
        if not self._claim_retention(conn):
            return
        pinned = {rid for runs in self._pinned(conn) for rid in runs}
        rows = self._execute(conn, "SELECT id, kind, seq FROM {t}runs").fetchall()
        doomed = doomed_runs(rows, self.retention, pinned)
        for start in range(0, len(doomed), _CHUNK):
            chunk = doomed[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            self._execute(conn, f"DELETE FROM {{t}}parts WHERE run_id IN ({marks})", chunk)
            self._execute(conn, f"DELETE FROM {{t}}workers WHERE run_id IN ({marks})", chunk)
            self._execute(conn, f"DELETE FROM {{t}}runs WHERE id IN ({marks})", chunk)

    def set_figures(self, run_id: str, figures: Figures, *, parts: int | None = None) -> bool:
        blob = encode_figures(figures)

        def write() -> bool:
            with self._write(run_id) as conn:
                if parts is None:
                    cursor = self._execute(
                        conn, "UPDATE {t}runs SET figures = ? WHERE id = ?", (blob, run_id)
                    )
                else:
                    cursor = self._execute(
                        conn,
                        "UPDATE {t}runs SET figures = ? WHERE id = ? AND parts = ?",
                        (blob, run_id, parts),
                    )
                return bool(cursor.rowcount > 0)

        return self._guard(write)

    def runs(
        self, limit: int | None = None, *, pipeline: str | None = None, kind: str | None = BEHAVE
    ) -> list[RunSummary]:
        sql = f"SELECT {RUN_COLS} FROM {{t}}runs WHERE 1 = 1"
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
        rows = self._guard(lambda: self._execute(self.conn, sql, args).fetchall())
        return [summary_from_row(row) for row in rows]

    def get_run(self, run_id: str) -> RunSummary | None:
        def find() -> Any:
            found = self._execute(
                self.conn, f"SELECT {RUN_COLS} FROM {{t}}runs WHERE id = ?", (run_id,)
            ).fetchone()
            if found is None:  # a part's id finds its run
                found = self._execute(
                    self.conn,
                    f"SELECT {RUN_COLS} FROM {{t}}runs WHERE id ="
                    " (SELECT run_id FROM {t}parts WHERE id = ?)",
                    (run_id,),
                ).fetchone()
            return found

        row = self._guard(find)
        return summary_from_row(row) if row is not None else None

    def parts(self, run_id: str) -> list[RunRecord]:
        rows = self._guard(
            lambda: self._execute(
                self.conn,
                "SELECT id, doc FROM {t}parts WHERE run_id = ? AND kind = ? ORDER BY seq",
                (run_id, BEHAVE),
            ).fetchall()
        )
        out, damaged = decode_parts(rows)
        if damaged:
            self._set_aside(run_id, damaged)
        return out

    def documents(self, run_id: str) -> list[StoredPart]:
        rows = self._guard(
            lambda: self._execute(
                self.conn,
                "SELECT id, kind, status, wall_ms, finished_at, doc FROM {t}parts"
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
        if not self._damaged_said:
            self._damaged_said = True
            kept = "" if self.readonly else f" (moved to table {self._spell('{t}damaged_parts')})"
            warn(
                f"{WHAT} {self.location}: {len(damaged)} damaged record(s) of run {run_id}"
                f" skipped{kept}: {damaged[0][1]}"
            )
        if self.readonly:
            return
        moved_at = time.strftime(NOW, time.gmtime())

        def move() -> None:
            with self._write(run_id) as conn:
                for part_id, reason in damaged:
                    self._execute(conn, self.UPSERT["damaged"], (reason, moved_at, part_id))
                    self._execute(conn, "DELETE FROM {t}parts WHERE id = ?", (part_id,))

        with contextlib.suppress(ProfilerError):
            self._guard(move)

    def figures(self, run_ids: Sequence[str]) -> dict[str, Figures]:
        def fetch(chunk: list[str]) -> list[Any]:
            sql = (
                "SELECT id, figures FROM {t}runs WHERE figures IS NOT NULL"
                f" AND id IN ({', '.join('?' * len(chunk))})"
            )
            return list(self._guard(lambda: self._execute(self.conn, sql, chunk).fetchall()))

        ids = list(run_ids)
        rows = [row for at in range(0, len(ids), _CHUNK) for row in fetch(ids[at : at + _CHUNK])]
        out: dict[str, Figures] = {}
        for run_id, blob in rows:
            figures = decode_figures(blob)
            if figures is not None:  # damaged figures: the trend just lacks this run's points
                out[str(run_id)] = figures
        return out

    # -- baselines -------------------------------------------------------------------------
    def _pinned(self, conn: Any) -> list[list[str]]:
        out = []
        for (raw,) in self._execute(conn, "SELECT runs FROM {t}baselines").fetchall():
            runs = decode_run_list(raw)
            if runs is not None:
                out.append(runs)
        return out

    def set_baseline(self, run_ids: Sequence[str], name: str = "default") -> PinnedBaseline:
        if not run_ids:
            raise ProfilerError(f"no runs in {self.location} to pin as a baseline")
        created = time.strftime(NOW, time.gmtime())
        return self.put_baseline(PinnedBaseline(name, created, tuple(run_ids)))

    def put_baseline(self, baseline: PinnedBaseline) -> PinnedBaseline:
        """Store ``baseline`` as it is (its creation time kept: imports)."""

        def write() -> None:
            with self._write() as conn:
                self._execute(
                    conn, self.UPSERT["baseline"],
                    (baseline.name, baseline.created_at, self._baseline_runs(baseline.runs)),
                )  # fmt: skip

        self._guard(write)
        return baseline

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        row = self._guard(
            lambda: self._execute(
                self.conn, "SELECT created_at, runs FROM {t}baselines WHERE name = ?", (name,)
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
            lambda: self._execute(
                self.conn, "SELECT name, created_at, runs FROM {t}baselines ORDER BY name"
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
            with self._write() as conn:
                cursor = self._execute(conn, "DELETE FROM {t}baselines WHERE name = ?", (name,))
                return bool(cursor.rowcount > 0)

        return self._guard(write)

    # -- shard plans -----------------------------------------------------------------------
    def pin_plan(self, key: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        blob = encode_document(plan)
        created = time.strftime(NOW, time.gmtime())

        def write() -> Any:
            with self._write() as conn:
                self._execute(conn, self.UPSERT["plan"], (key, created, blob))
                return self._execute(
                    conn, "SELECT plan FROM {t}shard_plans WHERE key = ?", (key,)
                ).fetchone()

        row = self._guard(write)
        try:
            return decode_document(row[0])
        except RecordError:
            return dict(plan)

    # -- coordinated runs ------------------------------------------------------------------
    def join_run(self, run_id: str, worker: str) -> None:
        def write() -> None:
            with self._write(run_id) as conn:
                self._execute(conn, self.UPSERT["join"], (run_id, worker))

        self._guard(write)

    def leave_run(self, run_id: str, worker: str) -> bool:
        def write() -> bool:
            with self._write(run_id) as conn:
                self._execute(conn, self.UPSERT["leave"], (run_id, worker))
                left = self._execute(
                    conn,
                    "SELECT COUNT(*) FROM {t}workers WHERE run_id = ? AND done = 0",
                    (run_id,),
                ).fetchone()[0]
                return int(left) == 0

        return self._guard(write)
