"""What only the PostgreSQL history has: a server that can be away, slow, or locked, a URL
with a password, and an optional driver."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from qhub.exceptions import ProfilerError
from qhub.profiling.history import HistoryUnavailableError, open_history_at
from qhub.profiling.history.postgres import PostgresHistory
from qhub.profiling.history.postgres_migrations import LOCK_CLASS
from tests.conftest import free_port
from tests.integration.postgres.conftest import PASSWORD, USER, PostgresServer
from tests.integration.postgres.test_history_contract import part


class TestUnreachable:
    """A database that cannot be used is one line, quickly, with the password hidden."""

    def test_nothing_listening(self) -> None:
        url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/postgres"
        started = time.monotonic()
        with pytest.raises(HistoryUnavailableError) as caught:
            PostgresHistory(url, connect_timeout_s=2)
        assert time.monotonic() - started < 10
        message = str(caught.value)
        assert PASSWORD not in message and "<redacted>" in message
        assert "\n" not in message and "cannot be used" in message

    def test_silent_host_is_bounded(self) -> None:
        """A host that never answers (a blackholed address) gives up after the connect
        timeout, not the operating system's minutes."""
        url = f"postgresql://{USER}:{PASSWORD}@10.255.255.1:5432/postgres"
        started = time.monotonic()
        with pytest.raises(HistoryUnavailableError):
            PostgresHistory(url, connect_timeout_s=2)
        assert time.monotonic() - started < 15

    def test_wrong_password_redacted(self, postgres_server: PostgresServer) -> None:
        url = postgres_server.url().replace(PASSWORD, "Wrong-Pass-123")
        with pytest.raises(HistoryUnavailableError) as caught:
            PostgresHistory(url)
        assert "Wrong-Pass-123" not in str(caught.value)
        assert "password authentication failed" in str(caught.value)

    def test_not_a_history_url(self, tmp_path: Path) -> None:
        from qhub.config import load_config

        config = load_config(config_file=None)
        with pytest.raises(ProfilerError, match="not a run history") as caught:
            open_history_at("mysql://u:Sec-ret-99@h/db", config)
        assert "Sec-ret-99" not in str(caught.value)


def test_psycopg_missing_is_one_clear_line(postgres_url: str) -> None:
    """Without the extra, opening says how to get it (no traceback, no password)."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from qhub.profiling.history.postgres import PostgresHistory\n"
        f"PostgresHistory({postgres_url!r})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "HistoryUnavailableError" in last and "pip install 'qhub[postgres]'" in last
    assert PASSWORD not in proc.stderr


def test_lock_wait_is_bounded(postgres_url: str) -> None:
    """A writer blocked by another (a run's advisory lock held elsewhere) gives up after
    ``timeout_s`` with one line."""
    with PostgresHistory(postgres_url) as history:
        history.add_part(part("r", "a"))
    holder = psycopg.connect(postgres_url, autocommit=False)
    try:
        holder.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema() || ':run:' || 'r'))",
            (LOCK_CLASS,),
        )
        with PostgresHistory(postgres_url, timeout_s=0.5) as history:
            started = time.monotonic()
            with pytest.raises(HistoryUnavailableError, match="gave up waiting"):
                history.add_part(part("r", "b"))
            assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()


def test_statement_timeout(postgres_url: str) -> None:
    with (
        PostgresHistory(postgres_url, statement_timeout_s=0.2) as history,
        pytest.raises(HistoryUnavailableError, match=r"longer than 0\.2 s"),
    ):
        history._guard(lambda: history.conn.execute("SELECT pg_sleep(3)"))


def test_dropped_connection_is_reopened(postgres_url: str, postgres_server: PostgresServer) -> None:
    """The server closing our connection (restart, idle kill) costs one reconnect."""
    with PostgresHistory(postgres_url) as history:
        history.add_part(part("r", "a"))
        pid = history.conn.info.backend_pid
        postgres_server.execute(f"SELECT pg_terminate_backend({pid})")
        history.add_part(part("r", "b"))
        assert history.runs()[0].parts == 2


def test_many_first_openers_create_the_schema_once(postgres_url: str) -> None:
    """Runners starting at once against an empty database all succeed (the migration is
    serialised by an advisory lock)."""
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostgresHistory(postgres_url).close()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with PostgresHistory(postgres_url, readonly=True) as history:
        assert history.runs() == []


def test_read_only_session_cannot_write(postgres_url: str) -> None:
    """Read-only commands open a read-only session: even a stray write is refused by the
    server."""
    PostgresHistory(postgres_url).close()
    with PostgresHistory(postgres_url, readonly=True) as history:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            history.conn.execute("DELETE FROM qhub_runs")


class TestDoctor:
    """``qhub doctor`` asks the shared history read-only and names its newest run."""

    def test_newest_run_named_and_password_hidden(
        self,
        postgres_url: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        from qhub.cli import main
        from qhub.config import load_config

        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("QHUB_PROFILING_HISTORY_URL", postgres_url)
        assert main(["doctor"]) == 0
        assert "no runs recorded yet" in capsys.readouterr().out
        with open_history_at(postgres_url, load_config(tmp_path)) as history:
            history.add_part(part("run-doc-pg", "run-doc-pg"))
        assert main(["doctor"]) == 0
        out = capsys.readouterr().out
        line = next(x for x in out.splitlines() if x[5:21].strip() == "history")
        assert line.startswith("OK") and "newest run run-doc-pg (behave)" in line
        assert PASSWORD not in out
        assert list(tmp_path.iterdir()) == []
