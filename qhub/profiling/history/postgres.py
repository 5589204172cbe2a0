"""Run history in PostgreSQL (``profiling.history_url``), shared by every CI runner.

The same tables as the SQLite history, prefixed ``qhub_`` (see
:mod:`qhub.profiling.history.postgres_migrations`). Needs psycopg 3 (the ``qhub[postgres]``
extra); without it, opening fails with one line saying so.

**Many writers.** Every write is one transaction. Writes to one run (its parts, its
summary, its workers) take a transaction-scoped advisory lock on that run, so runners
finishing at the same moment see each other's parts and the summary counts them all.
Retention is applied by whichever writer gets its advisory lock without waiting.

**Bounded waits.** The connection attempt gives up after
``profiling.history_connect_timeout_s``; each statement after
``profiling.history_statement_timeout_s``; each lock wait after
``profiling.history_timeout_s``; TCP keepalives and ``tcp_user_timeout`` notice a server
that vanished mid-statement. Any failure is :class:`HistoryUnavailableError` with the
URL's password redacted: the end of a run then warns once and still writes its reports.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import orjson

from qhub._redact import redact_text, redact_url, remember_url_secrets, scrub_known_in
from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import (
    BEHAVE,
    Figures,
    HistoryUnavailableError,
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
from qhub.profiling.history.postgres_migrations import LOCK_CLASS, ensure_schema
from qhub.profiling.history.rows import RUN_COLS, lane_of, run_meta, summary_from_row
from qhub.profiling.history.summary import PartFigures, doomed_runs, summarize
from qhub.profiling.record import RecordError, RunRecord

WHAT = "run history"
T = TypeVar("T")
_NOW = "%Y-%m-%dT%H:%M:%SZ"
_MISSING = (
    "profiling.history_url is a PostgreSQL URL, which needs psycopg 3: pip install 'qhub[postgres]'"
)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise HistoryUnavailableError(_MISSING) from None
    return psycopg


def _connect_options(
    url: str, connect_timeout_s: float, statement_timeout_s: float
) -> dict[str, Any]:
    """libpq options qhub adds unless the URL sets them: bounded connect and dead peers
    (keepalives notice a silent server; ``tcp_user_timeout`` data it never acknowledges)."""
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    wanted: dict[str, Any] = {
        "connect_timeout": max(2, math.ceil(connect_timeout_s)),
        "application_name": "qhub",
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": int(statement_timeout_s * 1000) + 5000,
    }
    return {k: v for k, v in wanted.items() if k not in given}


class PostgresHistory:
    """The run history in the PostgreSQL database at ``url`` (see the module docstring)."""

    def __init__(
        self,
        url: str,
        retention: int = 200,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 30.0,
        readonly: bool = False,
    ) -> None:
        remember_url_secrets(url)
        self.location = redact_url(url)
        self.retention = retention
        self.timeout_s = timeout_s
        self.statement_timeout_s = statement_timeout_s
        self.readonly = readonly
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._psycopg = _psycopg()
        self._damaged_said = False
        self._conn: Any = None
        self._conn = self._connect()
        try:
            ensure_schema(self._conn, readonly=readonly)
        except self._psycopg.Error as exc:
            self.close()
            raise self._unusable(exc) from None
        except BaseException:
            self.close()
            raise

    # -- connection ------------------------------------------------------------------------
    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            options = _connect_options(self._url, self._connect_timeout_s, self.statement_timeout_s)
            conn = psycopg.connect(self._url, autocommit=True, **options)
        except psycopg.Error as exc:
            raise self._unusable(exc) from None
        except Exception as exc:  # a malformed URL: psycopg raises ProgrammingError or others
            raise HistoryUnavailableError(
                f"{WHAT} {self.location} cannot be used: {redact_text(str(exc))}"
            ) from None
        try:
            ms = int(self.statement_timeout_s * 1000)
            conn.execute(f"SET statement_timeout = {ms}")
            conn.execute(f"SET lock_timeout = {max(1, int(self.timeout_s * 1000))}")
            conn.execute(f"SET idle_in_transaction_session_timeout = {max(ms, 1000) * 2}")
            if self.readonly:
                conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as exc:
            with contextlib.suppress(Exception):
                conn.close()
            raise self._unusable(exc) from None
        return conn

    def _unusable(self, exc: BaseException) -> HistoryUnavailableError:
        psycopg = self._psycopg
        errors = psycopg.errors
        if isinstance(exc, errors.QueryCanceled):
            why = f"a statement ran longer than {self.statement_timeout_s:g} s"
        elif isinstance(exc, errors.LockNotAvailable):
            why = f"gave up waiting for another writer after {self.timeout_s:g} s"
        else:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            why = lines[0] if lines else type(exc).__name__
        return HistoryUnavailableError(f"{WHAT} {self.location} cannot be used: {redact_text(why)}")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresHistory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise ProfilerError(f"{WHAT} {self.location} is closed")
        return self._conn

    def _guard(self, action: Callable[[], T]) -> T:
        """Run ``action()``; a dropped connection is re-opened once; errors become one line."""
        psycopg = self._psycopg
        for attempt in (1, 2):
            try:
                return action()
            except psycopg.OperationalError as exc:
                broken = self._conn is None or self._conn.broken or self._conn.closed
                if attempt == 2 or not broken or isinstance(exc, psycopg.errors.QueryCanceled):
                    raise self._unusable(exc) from None
                self.close()
                self._conn = self._connect()
            except psycopg.Error as exc:
                raise self._unusable(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _write(self, run_id: str | None = None) -> Iterator[Any]:
        """One transaction; with ``run_id``, holding that run's advisory lock."""
        if self.readonly:
            raise ProfilerError(f"{WHAT} {self.location} is open read-only")
        conn = self.conn
        with conn.transaction():
            if run_id is not None:
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || ':run:' || %s))",
                    (LOCK_CLASS, run_id),
                )
            yield conn

    # -- parts and runs --------------------------------------------------------------------
    def add_part(self, record: RunRecord, *, kind: str = BEHAVE) -> None:
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
                conn.execute(
                    "INSERT INTO qhub_parts (id, run_id, kind, worker_id, lane, start_ms,"
                    " finished_at, status, wall_ms, step_ms, doc)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET run_id = EXCLUDED.run_id,"
                    " kind = EXCLUDED.kind, worker_id = EXCLUDED.worker_id,"
                    " lane = EXCLUDED.lane, start_ms = EXCLUDED.start_ms,"
                    " finished_at = EXCLUDED.finished_at, status = EXCLUDED.status,"
                    " wall_ms = EXCLUDED.wall_ms, step_ms = EXCLUDED.step_ms, doc = EXCLUDED.doc",
                    (part["part"], part["run_id"], part["kind"], part["worker"], part["lane"],
                     part["start_ms"], part["finished_at"], part["status"], part["wall_ms"],
                     part["step_ms"], blob),
                )  # fmt: skip
                self._refresh_run(conn, part["run_id"], part["kind"], meta)
                self._apply_retention(conn)

        self._guard(write)

    @staticmethod
    def _refresh_run(conn: Any, run_id: str, kind: str, meta: Mapping[str, Any]) -> None:
        rows = conn.execute(
            "SELECT status, wall_ms, step_ms, finished_at, lane, start_ms FROM qhub_parts"
            " WHERE run_id = %s",
            (run_id,),
        ).fetchall()
        summary = summarize(PartFigures(*row) for row in rows)
        dirty = meta.get("git_dirty")
        conn.execute(
            "INSERT INTO qhub_runs (id, kind, pipeline, finished_at, wall_ms, step_ms, status,"
            " git_commit, git_branch, git_dirty, host, python, behave_version, qhub_version,"
            " parts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET"
            " pipeline = COALESCE(qhub_runs.pipeline, EXCLUDED.pipeline),"
            " finished_at = EXCLUDED.finished_at, wall_ms = EXCLUDED.wall_ms,"
            " step_ms = EXCLUDED.step_ms, status = EXCLUDED.status,"
            " git_commit = COALESCE(EXCLUDED.git_commit, qhub_runs.git_commit),"
            " git_branch = COALESCE(EXCLUDED.git_branch, qhub_runs.git_branch),"
            " git_dirty = GREATEST(COALESCE(qhub_runs.git_dirty, 0),"
            "                      COALESCE(EXCLUDED.git_dirty, 0)),"
            " host = COALESCE(EXCLUDED.host, qhub_runs.host),"
            " python = COALESCE(EXCLUDED.python, qhub_runs.python),"
            " behave_version = COALESCE(EXCLUDED.behave_version, qhub_runs.behave_version),"
            " qhub_version = COALESCE(EXCLUDED.qhub_version, qhub_runs.qhub_version),"
            " parts = EXCLUDED.parts, figures = NULL",
            (run_id, kind, meta.get("pipeline"), summary.finished_at, summary.wall_ms,
             summary.step_ms, summary.status, meta.get("git_commit"), meta.get("git_branch"),
             None if dirty is None else int(dirty), meta.get("host"), meta.get("python"),
             meta.get("behave_version"), meta.get("qhub_version"), summary.parts),
        )  # fmt: skip

    def _apply_retention(self, conn: Any) -> None:
        got = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(current_schema() || ':retention'))",
            (LOCK_CLASS,),
        ).fetchone()
        if not got or not got[0]:
            return  # another writer is applying it right now
        pinned = {rid for runs in self._pinned(conn) for rid in runs}
        rows = conn.execute("SELECT id, kind, seq FROM qhub_runs").fetchall()
        doomed = doomed_runs(rows, self.retention, pinned)
        if doomed:
            conn.execute("DELETE FROM qhub_parts WHERE run_id = ANY(%s)", (doomed,))
            conn.execute("DELETE FROM qhub_workers WHERE run_id = ANY(%s)", (doomed,))
            conn.execute("DELETE FROM qhub_runs WHERE id = ANY(%s)", (doomed,))

    def set_figures(self, run_id: str, figures: Figures, *, parts: int | None = None) -> bool:
        blob = encode_figures(figures)

        def write() -> bool:
            with self._write(run_id) as conn:
                if parts is None:
                    cursor = conn.execute(
                        "UPDATE qhub_runs SET figures = %s WHERE id = %s", (blob, run_id)
                    )
                else:
                    cursor = conn.execute(
                        "UPDATE qhub_runs SET figures = %s WHERE id = %s AND parts = %s",
                        (blob, run_id, parts),
                    )
                return bool(cursor.rowcount > 0)

        return self._guard(write)

    def runs(
        self, limit: int | None = None, *, pipeline: str | None = None, kind: str | None = BEHAVE
    ) -> list[RunSummary]:
        sql = f"SELECT {RUN_COLS} FROM qhub_runs WHERE TRUE"
        args: list[Any] = []
        if pipeline is not None:
            sql += " AND pipeline = %s"
            args.append(pipeline)
        if kind is not None:
            sql += " AND kind = %s"
            args.append(kind)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        rows = self._guard(lambda: self.conn.execute(sql, args).fetchall())
        return [summary_from_row(row) for row in rows]

    def get_run(self, run_id: str) -> RunSummary | None:
        def find() -> Any:
            found = self.conn.execute(
                f"SELECT {RUN_COLS} FROM qhub_runs WHERE id = %s", (run_id,)
            ).fetchone()
            if found is None:
                found = self.conn.execute(
                    f"SELECT {RUN_COLS} FROM qhub_runs WHERE id ="
                    " (SELECT run_id FROM qhub_parts WHERE id = %s)",
                    (run_id,),
                ).fetchone()
            return found

        row = self._guard(find)
        return summary_from_row(row) if row is not None else None

    def parts(self, run_id: str) -> list[RunRecord]:
        rows = self._guard(
            lambda: self.conn.execute(
                "SELECT id, doc FROM qhub_parts WHERE run_id = %s AND kind = %s ORDER BY seq",
                (run_id, BEHAVE),
            ).fetchall()
        )
        out, damaged = decode_parts(rows)
        if damaged:
            self._set_aside(run_id, damaged)
        return out

    def documents(self, run_id: str) -> list[StoredPart]:
        rows = self._guard(
            lambda: self.conn.execute(
                "SELECT id, kind, status, wall_ms, finished_at, doc FROM qhub_parts"
                " WHERE run_id = %s ORDER BY seq",
                (run_id,),
            ).fetchall()
        )
        out, damaged = decode_stored(rows)
        if damaged:
            self._set_aside(run_id, damaged)
        return out

    def _set_aside(self, run_id: str, damaged: list[tuple[str, str]]) -> None:
        """Say once that rows were damaged; with write access move them aside."""
        if not self._damaged_said:
            self._damaged_said = True
            kept = "" if self.readonly else " (moved to table qhub_damaged_parts)"
            warn(
                f"{WHAT} {self.location}: {len(damaged)} damaged record(s) of run {run_id}"
                f" skipped{kept}: {damaged[0][1]}"
            )
        if self.readonly:
            return
        moved_at = time.strftime(_NOW, time.gmtime())

        def move() -> None:
            with self._write(run_id) as conn:
                for part_id, reason in damaged:
                    conn.execute(
                        "INSERT INTO qhub_damaged_parts (id, run_id, reason, moved_at, doc)"
                        " SELECT id, run_id, %s, %s, doc FROM qhub_parts WHERE id = %s"
                        " ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason,"
                        " moved_at = EXCLUDED.moved_at, doc = EXCLUDED.doc",
                        (reason, moved_at, part_id),
                    )
                    conn.execute("DELETE FROM qhub_parts WHERE id = %s", (part_id,))

        with contextlib.suppress(ProfilerError):
            self._guard(move)

    def figures(self, run_ids: Sequence[str]) -> dict[str, Figures]:
        if not run_ids:
            return {}
        rows = self._guard(
            lambda: self.conn.execute(
                "SELECT id, figures FROM qhub_runs WHERE figures IS NOT NULL AND id = ANY(%s)",
                (list(run_ids),),
            ).fetchall()
        )
        out: dict[str, Figures] = {}
        for run_id, blob in rows:
            figures = decode_figures(blob)
            if figures is not None:
                out[str(run_id)] = figures
        return out

    # -- baselines -------------------------------------------------------------------------
    @staticmethod
    def _pinned(conn: Any) -> list[list[str]]:
        out = []
        for (raw,) in conn.execute("SELECT runs FROM qhub_baselines").fetchall():
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
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO qhub_baselines (name, created_at, runs) VALUES (%s, %s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET created_at = EXCLUDED.created_at,"
                    " runs = EXCLUDED.runs",
                    (baseline.name, baseline.created_at,
                     orjson.dumps(list(baseline.runs)).decode("utf-8")),
                )  # fmt: skip

        self._guard(write)
        return baseline

    def baseline(self, name: str = "default") -> PinnedBaseline | None:
        row = self._guard(
            lambda: self.conn.execute(
                "SELECT created_at, runs FROM qhub_baselines WHERE name = %s", (name,)
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
            lambda: self.conn.execute(
                "SELECT name, created_at, runs FROM qhub_baselines ORDER BY name"
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
                cursor = conn.execute("DELETE FROM qhub_baselines WHERE name = %s", (name,))
                return bool(cursor.rowcount > 0)

        return self._guard(write)

    # -- shard plans -----------------------------------------------------------------------
    def pin_plan(self, key: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        blob = encode_document(plan)
        created = time.strftime(_NOW, time.gmtime())

        def write() -> Any:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO qhub_shard_plans (key, created_at, plan) VALUES (%s, %s, %s)"
                    " ON CONFLICT (key) DO NOTHING",
                    (key, created, blob),
                )
                return conn.execute(
                    "SELECT plan FROM qhub_shard_plans WHERE key = %s", (key,)
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
                conn.execute(
                    "INSERT INTO qhub_workers (run_id, worker, done) VALUES (%s, %s, 0)"
                    " ON CONFLICT (run_id, worker) DO NOTHING",
                    (run_id, worker),
                )

        self._guard(write)

    def leave_run(self, run_id: str, worker: str) -> bool:
        def write() -> bool:
            with self._write(run_id) as conn:
                conn.execute(
                    "INSERT INTO qhub_workers (run_id, worker, done) VALUES (%s, %s, 1)"
                    " ON CONFLICT (run_id, worker) DO UPDATE SET done = 1",
                    (run_id, worker),
                )
                left = conn.execute(
                    "SELECT COUNT(*) FROM qhub_workers WHERE run_id = %s AND done = 0", (run_id,)
                ).fetchone()[0]
                return int(left) == 0

        return self._guard(write)
