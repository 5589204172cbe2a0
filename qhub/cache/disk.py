"""Persistent backend: one SQLite file in WAL mode, holding qhub's own serialized bytes.

Why not ``diskcache``: it unpickles stored values by default (CVE-2025-69872). Here the table
holds only bytes written by :class:`qhub.cache.serializer.Serializer`.

Concurrency: one connection per thread and process, autocommit single statements or short
``BEGIN IMMEDIATE`` transactions, a busy timeout, and a retry loop around "database is
locked" so several processes writing at once never see that error. Expiry uses wall-clock
time (``clock``) because values outlive the process. A file that is not a readable database
is moved aside as ``<name>.corrupt-<timestamp>`` and replaced, with one warning.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from qhub.cache.base import (
    CacheBackend,
    Entry,
    glob_escape,
    glob_literal_prefix,
    glob_to_regex,
)
from qhub.cache.filelock import FileLock
from qhub.exceptions import CacheBackendError

log = logging.getLogger("qhub.cache")
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS qhub_cache (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS qhub_cache_expires ON qhub_cache(expires_at)
    WHERE expires_at IS NOT NULL;
"""
_CHUNK = 500
_PURGE_EVERY = 1000
_MAX_KEY = "\U0010ffff"


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class DiskCacheBackend(CacheBackend):
    """SQLite-backed store that survives between runs and is shared by local processes."""

    name = "disk"

    def __init__(
        self,
        path: str | os.PathLike[str] = ".qhub/cache.db",
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.path = Path(path).expanduser().resolve()
        self.busy_timeout = busy_timeout
        self.clock = clock
        self.expirations = 0
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._generation = 0
        self._sets = 0
        self._inode: int | None = None
        self._connect()  # fail (or recover) early, not on the first cached step

    def __repr__(self) -> str:
        return f"DiskCacheBackend({str(self.path)!r})"

    # -- connections ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if (
            conn is not None
            and self._local.pid == os.getpid()
            and self._local.generation == self._generation
        ):
            return conn
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise CacheBackendError(f"cannot open cache file {self.path}: {exc}") from exc
            self._quarantine(exc)
            conn = self._open()
        self._local.conn, self._local.pid, self._local.generation = (
            conn,
            os.getpid(),
            self._generation,
        )
        with self._registry_lock:
            self._connections.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            conn.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: conn.executescript(_SCHEMA))
            conn.create_function("qhub_glob", 2, _glob_match, deterministic=True)
        except sqlite3.Error:
            conn.close()
            raise
        self._inode = _inode(self.path)
        return conn

    def _quarantine(self, exc: Exception) -> None:
        """Move a corrupt file (and its WAL/SHM) aside so a fresh one can be created."""
        with self._registry_lock:
            if self._inode is not None and _inode(self.path) not in (self._inode, None):
                self._generation += 1  # another process already replaced it
                return
            stamp = time.strftime("%Y%m%d-%H%M%S")
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._generation += 1
            try:
                os.replace(self.path, target)
            except FileNotFoundError:
                return
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        log.warning(
            "qhub cache: %s was not a usable SQLite database (%s); moved it to %s and started "
            "a new one",
            self.path,
            exc,
            target,
        )

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying while SQLite reports the database locked or busy."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _run(self, action: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``action`` on this thread's connection, mapping SQLite failures."""
        for attempt in (1, 2):
            conn = self._connect()
            try:
                return self._retry(lambda: action(conn))  # noqa: B023 - called at once
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and _is_corruption(exc):
                    self._quarantine(exc)
                    continue
                raise CacheBackendError(f"cache file {self.path}: {exc}") from exc
        raise AssertionError("unreachable")

    def _write(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` in one short ``BEGIN IMMEDIATE`` transaction."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = statements(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return self._run(transaction)

    # -- storage --------------------------------------------------------------------------
    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock() + ttl

    def get_entry(self, key: str) -> Entry | None:
        row = self._run(
            lambda c: c.execute(
                "SELECT value, expires_at FROM qhub_cache WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None:
            return None
        value, expires_at = row
        if expires_at is None:
            return bytes(value), None
        left = expires_at - self.clock()
        if left <= 0:
            self._drop_expired(key, expires_at)
            return None
        return bytes(value), left

    def get(self, key: str) -> bytes | None:
        entry = self.get_entry(key)
        return None if entry is None else entry[0]

    def _drop_expired(self, key: str, expires_at: float) -> None:
        removed = self._run(
            lambda c: c.execute(
                "DELETE FROM qhub_cache WHERE key = ? AND expires_at = ?", (key, expires_at)
            ).rowcount
        )
        if removed:
            self.expirations += 1
            self._notify("expiration", key)

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        expires = self._expires(ttl)
        self._run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO qhub_cache (key, value, expires_at) VALUES (?, ?, ?)",
                (key, data, expires),
            )
        )
        self._count_set(1)

    def _count_set(self, n: int) -> None:
        self._sets += n
        if self._sets >= _PURGE_EVERY:
            self._sets = 0
            self.purge_expired()

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        now = self.clock()
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._run(
                lambda c, chunk=chunk, marks=marks: c.execute(  # type: ignore[misc]
                    f"SELECT key, value, expires_at FROM qhub_cache WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
            )
            for key, value, expires_at in rows:
                if expires_at is None or expires_at > now:
                    found[key] = bytes(value)
        return found

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        expires = self._expires(ttl)
        rows = [(key, data, expires) for key, data in items.items()]
        self._write(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO qhub_cache (key, value, expires_at) VALUES (?, ?, ?)",
                rows,
            )
        )
        self._count_set(len(rows))

    def delete(self, key: str) -> bool:
        removed: int = self._run(
            lambda c: c.execute("DELETE FROM qhub_cache WHERE key = ?", (key,)).rowcount
        )
        return removed > 0

    def _where(self, pattern: str) -> tuple[str, tuple[Any, ...]]:
        prefix = glob_literal_prefix(pattern)
        clause = "key >= ? AND key < ? AND (expires_at IS NULL OR expires_at > ?)"
        params: tuple[Any, ...] = (prefix, prefix + _MAX_KEY, self.clock())
        if pattern != glob_escape(prefix) + "*":
            clause += " AND qhub_glob(?, key)"
            params += (pattern,)
        return clause, params

    def keys(self, pattern: str = "*") -> Iterator[str]:
        clause, params = self._where(pattern)
        rows = self._run(
            lambda c: c.execute(f"SELECT key FROM qhub_cache WHERE {clause}", params).fetchall()
        )
        return iter([row[0] for row in rows])

    def delete_pattern(self, pattern: str) -> int:
        clause, params = self._where(pattern)
        removed: int = self._write(
            lambda c: c.execute(f"DELETE FROM qhub_cache WHERE {clause}", params).rowcount
        )
        return removed

    def count(self, prefix: str = "") -> int:
        clause, params = self._where(glob_escape(prefix) + "*")
        total = self._run(
            lambda c: c.execute(
                f"SELECT count(*) FROM qhub_cache WHERE {clause}", params
            ).fetchone()[0]
        )
        return int(total)

    def bytes_stored(self, prefix: str = "") -> int | None:
        clause, params = self._where(glob_escape(prefix) + "*")
        total = self._run(
            lambda c: c.execute(
                f"SELECT coalesce(sum(length(value)), 0) FROM qhub_cache WHERE {clause}", params
            ).fetchone()[0]
        )
        return int(total)

    def purge_expired(self) -> int:
        """Delete every expired row now; returns how many went."""
        now = self.clock()
        removed: int = self._write(
            lambda c: c.execute(
                "DELETE FROM qhub_cache WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            ).rowcount
        )
        self.expirations += removed
        return removed

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1").fetchone())

    # -- dogpile lock ---------------------------------------------------------------------
    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        return FileLock(self.path.with_name(self.path.name + ".locks"), key, timeout)

    def close(self) -> None:
        with self._registry_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._generation += 1


def _glob_match(pattern: str, key: str) -> bool:
    return glob_to_regex(pattern).fullmatch(key) is not None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None
