"""``qhub._sqlite_busy``: statements SQLite refuses at once while another process holds the
file are tried again, within a bound; other errors are not."""

from __future__ import annotations

import sqlite3
import time

import pytest

from qhub._sqlite_busy import is_busy, retry_busy


class Flaky:
    def __init__(self, failures: int, message: str = "database is locked") -> None:
        self.failures = failures
        self.message = message
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError(self.message)
        return "done"


def test_locked_then_free_succeeds() -> None:
    action = Flaky(3)
    assert retry_busy(action, timeout_s=5) == "done"
    assert action.calls == 4


def test_gives_up_at_the_bound_with_the_last_error() -> None:
    action = Flaky(10**9, "database is busy")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="busy"):
        retry_busy(action, timeout_s=0.2)
    assert action.calls > 1
    assert time.monotonic() - started < 5  # bounded (generous: a loaded machine)


def test_other_errors_are_not_retried() -> None:
    action = Flaky(1, "no such table: runs")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_busy(action, timeout_s=5)
    assert action.calls == 1


def test_is_busy() -> None:
    assert is_busy(sqlite3.OperationalError("database is locked"))
    assert is_busy(sqlite3.OperationalError("database table is locked"))
    assert not is_busy(sqlite3.OperationalError("disk I/O error"))
