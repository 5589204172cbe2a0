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
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import orjson

from qhub._redact import redact_text, redact_url, remember_url_secrets
from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import HistoryUnavailableError
from qhub.profiling.history.postgres_migrations import LOCK_CLASS, ensure_schema
from qhub.profiling.history.sql import WHAT, SQLHistory

T = TypeVar("T")
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


class PostgresHistory(SQLHistory):
    """The run history in the PostgreSQL database at ``url`` (see the module docstring);
    the queries are :class:`~qhub.profiling.history.sql.SQLHistory`'s."""

    TABLE_PREFIX = "qhub_"
    MARK = "%s"
    UPSERT = {
        "part": "INSERT INTO {t}parts (id, run_id, kind, worker_id, lane, start_ms,"
        " finished_at, status, wall_ms, step_ms, doc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET run_id = EXCLUDED.run_id,"
        " kind = EXCLUDED.kind, worker_id = EXCLUDED.worker_id,"
        " lane = EXCLUDED.lane, start_ms = EXCLUDED.start_ms,"
        " finished_at = EXCLUDED.finished_at, status = EXCLUDED.status,"
        " wall_ms = EXCLUDED.wall_ms, step_ms = EXCLUDED.step_ms, doc = EXCLUDED.doc",
        "damaged": "INSERT INTO {t}damaged_parts (id, run_id, reason, moved_at, doc)"
        " SELECT id, run_id, ?, ?, doc FROM {t}parts WHERE id = ?"
        " ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason,"
        " moved_at = EXCLUDED.moved_at, doc = EXCLUDED.doc",
        "baseline": "INSERT INTO {t}baselines (name, created_at, runs) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET created_at = EXCLUDED.created_at,"
        " runs = EXCLUDED.runs",
        "plan": "INSERT INTO {t}shard_plans (key, created_at, plan) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        "join": "INSERT INTO {t}workers (run_id, worker, done) VALUES (?, ?, 0)"
        " ON CONFLICT (run_id, worker) DO NOTHING",
        "leave": "INSERT INTO {t}workers (run_id, worker, done) VALUES (?, ?, 1)"
        " ON CONFLICT (run_id, worker) DO UPDATE SET done = 1",
    }

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

    def _save_run(self, conn: Any, run_id: str, kind: str, values: Sequence[Any]) -> None:
        self._execute(
            conn,
            "INSERT INTO {t}runs (id, kind, pipeline, finished_at, wall_ms, step_ms, status,"
            " git_commit, git_branch, git_dirty, host, python, behave_version, qhub_version,"
            " parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET"
            " pipeline = COALESCE({t}runs.pipeline, EXCLUDED.pipeline),"
            " finished_at = EXCLUDED.finished_at, wall_ms = EXCLUDED.wall_ms,"
            " step_ms = EXCLUDED.step_ms, status = EXCLUDED.status,"
            " git_commit = COALESCE(EXCLUDED.git_commit, {t}runs.git_commit),"
            " git_branch = COALESCE(EXCLUDED.git_branch, {t}runs.git_branch),"
            " git_dirty = GREATEST(COALESCE({t}runs.git_dirty, 0),"
            "                      COALESCE(EXCLUDED.git_dirty, 0)),"
            " host = COALESCE(EXCLUDED.host, {t}runs.host),"
            " python = COALESCE(EXCLUDED.python, {t}runs.python),"
            " behave_version = COALESCE(EXCLUDED.behave_version, {t}runs.behave_version),"
            " qhub_version = COALESCE(EXCLUDED.qhub_version, {t}runs.qhub_version),"
            " parts = EXCLUDED.parts, figures = NULL",
            (run_id, kind, *values),
        )

    def _claim_retention(self, conn: Any) -> bool:
        """Whoever gets the retention lock without waiting applies it; the others skip."""
        got = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(current_schema() || ':retention'))",
            (LOCK_CLASS,),
        ).fetchone()
        return bool(got and got[0])

    def _baseline_runs(self, runs: Sequence[str]) -> Any:
        return orjson.dumps(list(runs)).decode("utf-8")
