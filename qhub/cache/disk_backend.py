"""Persistent backend: one SQLite file in WAL mode, holding qhub's own serialized bytes.

Why not ``diskcache``: it unpickles stored values by default (CVE-2025-69872). Here the table
holds only bytes written by :class:`qhub.cache.serializer.Serializer`.

Concurrency: one connection per thread and process, autocommit single statements or short
``BEGIN IMMEDIATE`` transactions, and a bounded wait (``busy_timeout``) while another process
writes. Expiry uses wall-clock time (``clock``) because values outlive the process.

Damage and faults (see :mod:`qhub._quarantine`): a path naming a file that is not qhub's is
refused, never converted; a file SQLite proves corrupt is renamed aside under a unique name
(one process does it, under a file lock) and a new one started, with one warning. Every other
failure ("disk full", "read-only", "locked", "I/O error", "permission denied") is a
:class:`~qhub.exceptions.CacheBackendError`: the manager warns once and goes on without
this file, nothing is moved. Files created carry qhub's ``PRAGMA application_id``.

``create=False`` opens only an existing file (a missing one reads as empty and creates
nothing, not even its folder); ``readonly=True`` also opens it read-only. Both are what
read-only commands such as ``qhub cache stats`` use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from qhub._locks import LockUnavailableError, file_lock
from qhub._quarantine import (
    APPLICATION_ID,
    ForeignFileError,
    check_owned,
    is_corruption,
    quarantine,
)
from qhub._sqlite_busy import retry_busy
from qhub._warn import warn
from qhub.cache.base import CacheBackend, Entry
from qhub.cache.patterns import (
    compile_glob,
    glob_escape,
    glob_literal_prefix,
    glob_match,
    is_prefix_pattern,
)
from qhub.exceptions import CacheBackendError

if TYPE_CHECKING:
    from qhub.config import QHubConfig

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
# Columns are cast on the way out: a row planted by hand (TEXT value, TEXT expiry) reads as
# bytes and a number, never as a Python type the manager does not expect.
_VALUE = "CAST(value AS BLOB)"
_EXPIRES = "CAST(expires_at AS REAL)"
_CHUNK = 500
_PURGE_EVERY = 1000
_MAX_KEY = "\U0010ffff"
DEFAULT_BUSY_TIMEOUT = 10.0
WHAT = "cache file"


class _NoFile(Exception):
    """The file does not exist and this backend may not create it."""


class DiskCacheBackend(CacheBackend):
    """SQLite-backed store that survives between runs and is shared by local processes."""

    name = "disk"

    def __init__(
        self,
        path: str | os.PathLike[str] = ".qhub/cache.db",
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], float] = time.time,
        create: bool = True,
        readonly: bool = False,
    ) -> None:
        super().__init__()
        # absolute, but the last component is not resolved: a symlink stays a symlink, so
        # quarantine can refuse it instead of moving whatever it points at
        self.path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        self.busy_timeout = busy_timeout
        self.clock = clock
        self.readonly = readonly
        self.create = create and not readonly
        self.expirations = 0
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._generation = 0
        self._sets = 0
        self._inode: int | None = None
        if self.create:
            # open (or recover) now, not in the first cached step; a failure here is said
            # by the first operation, which the manager turns into one warning and failover
            with contextlib.suppress(CacheBackendError):
                self._connect()

    @classmethod
    def from_config(cls, config: QHubConfig, **options: Any) -> DiskCacheBackend:
        """The file ``cache.path`` (relative to the project root), waiting ``busy_timeout``."""
        settings = config.cache
        path = options.pop("path", config.path(settings.path))
        return cls(path, **{"busy_timeout": settings.busy_timeout, **options})

    def __repr__(self) -> str:
        return f"DiskCacheBackend({str(self.path)!r})"

    # -- connections ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid() and local.generation == self._generation:
            return conn
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise CacheBackendError(f"{WHAT} {self.path}: {exc}") from None
            self._recover(exc)
            try:
                conn = self._open()
            except sqlite3.DatabaseError as again:
                raise CacheBackendError(f"{WHAT} {self.path}: {again}") from None
        local.conn, local.pid, local.generation = conn, os.getpid(), self._generation
        with self._registry_lock:
            self._connections.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            check_owned(self.path, WHAT)
        except ForeignFileError as exc:
            raise CacheBackendError(str(exc)) from None
        if not self.create:
            if not self.path.exists():
                raise _NoFile
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CacheBackendError(
                    f"{WHAT} {self.path}: cannot create its folder ({exc.strerror})"
                ) from None
        mode = "ro" if self.readonly else "rwc" if self.create else "rw"
        conn = sqlite3.connect(
            f"{self.path.as_uri()}?mode={mode}",
            uri=True,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            if not self.readonly:
                self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
                conn.execute("PRAGMA synchronous=NORMAL")
                if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                    self._retry(lambda: conn.execute(f"PRAGMA application_id = {APPLICATION_ID}"))
                self._retry(lambda: conn.executescript(_SCHEMA))
            conn.create_function("qhub_glob", 2, _glob_match, deterministic=True)
        except sqlite3.Error:
            conn.close()
            raise
        self._inode = _inode(self.path)
        return conn

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """SQLite proved the file corrupt: move it aside (one process does) and start anew."""
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            with file_lock(lock, self.busy_timeout, what="cache file lock"):
                self._quarantine_locked(exc)
        except LockUnavailableError as locked:
            raise CacheBackendError(f"{WHAT} {self.path} is damaged: {locked}") from None

    def _quarantine_locked(self, exc: sqlite3.DatabaseError) -> None:
        with self._registry_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._generation += 1
            if self._inode is not None and _inode(self.path) not in (self._inode, None):
                return  # another process already moved it and started a new file
            if not self.path.exists():
                return
            try:
                moved = quarantine(self.path, WHAT)
            except ForeignFileError as refused:
                raise CacheBackendError(str(refused)) from None
            except OSError as failed:
                raise CacheBackendError(
                    f"{WHAT} {self.path} is damaged and could not be moved aside "
                    f"({failed.strerror})"
                ) from None
        warn(
            f"{WHAT} {self.path} was not a usable SQLite database ({exc}); moved it to "
            f"{moved} and started a new one"
        )

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying while SQLite reports the database locked or busy."""
        return retry_busy(action, self.busy_timeout)

    def _run(self, action: Callable[[sqlite3.Connection], T], missing: T) -> T:
        """Run ``action`` on this thread's connection, mapping SQLite failures.

        ``missing`` is the answer when the file does not exist and may not be created.
        """
        for attempt in (1, 2):
            try:
                conn = self._connect()
            except _NoFile:
                return missing
            try:
                return self._retry(lambda: action(conn))  # noqa: B023 - called at once
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and is_corruption(exc):
                    self._recover(exc)
                    continue
                raise CacheBackendError(f"{WHAT} {self.path}: {exc}") from None
        raise AssertionError("unreachable")

    def _write(self, statements: Callable[[sqlite3.Connection], T], missing: T) -> T:
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

        return self._run(transaction, missing)

    def _writable(self) -> None:
        if self.readonly:
            raise CacheBackendError(f"{WHAT} {self.path} was opened read-only")

    # -- storage --------------------------------------------------------------------------
    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock() + ttl

    def get_entry(self, key: str) -> Entry | None:
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_VALUE}, {_EXPIRES} FROM qhub_cache WHERE key = ?", (key,)
            ).fetchone(),
            None,
        )
        if row is None:
            return None
        value, expires_at = row
        if expires_at is None:
            return value, None
        left = expires_at - self.clock()
        if left <= 0:
            self._drop_expired(key)
            return None
        return value, left

    def get(self, key: str) -> bytes | None:
        entry = self.get_entry(key)
        return None if entry is None else entry[0]

    def _drop_expired(self, key: str) -> None:
        if self.readonly:
            return
        removed = self._run(
            lambda c: c.execute(
                f"DELETE FROM qhub_cache WHERE key = ? AND {_EXPIRES} <= ?", (key, self.clock())
            ).rowcount,
            0,
        )
        if removed:
            self.expirations += 1
            self._notify("expiration", key)

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        self._writable()
        expires = self._expires(ttl)
        self._run(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO qhub_cache (key, value, expires_at) VALUES (?, ?, ?)",
                (key, data, expires),
            ),
            self._no_file(),
        )
        self._count_set(1)

    def _no_file(self) -> Any:
        """What a write answers when the file is missing and may not be created: an error."""
        if not self.create and not self.path.exists():
            raise CacheBackendError(f"no {WHAT} at {self.path}")
        return None

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
            rows: list[Any] = self._run(
                lambda c, chunk=chunk, marks=marks: c.execute(  # type: ignore[misc]
                    f"SELECT key, {_VALUE}, {_EXPIRES} FROM qhub_cache WHERE key IN ({marks})",
                    chunk,
                ).fetchall(),
                [],
            )
            for key, value, expires_at in rows:
                if expires_at is None or expires_at > now:
                    found[key] = value
        return found

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        self._writable()
        expires = self._expires(ttl)
        rows = [(key, data, expires) for key, data in items.items()]
        self._write(
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO qhub_cache (key, value, expires_at) VALUES (?, ?, ?)",
                rows,
            ),
            self._no_file(),
        )
        self._count_set(len(rows))

    def delete(self, key: str) -> bool:
        self._writable()
        removed: int = self._run(
            lambda c: c.execute("DELETE FROM qhub_cache WHERE key = ?", (key,)).rowcount, 0
        )
        return removed > 0

    def delete_if(self, key: str, data: bytes) -> bool:
        self._writable()
        removed: int = self._run(
            lambda c: c.execute(
                f"DELETE FROM qhub_cache WHERE key = ? AND {_VALUE} = ?", (key, data)
            ).rowcount,
            0,
        )
        return removed > 0

    def _where(self, pattern: str) -> tuple[str, tuple[Any, ...]]:
        compile_glob(pattern)  # an invalid pattern is refused before SQLite sees it
        prefix = glob_literal_prefix(pattern)
        clause = f"key >= ? AND key < ? AND (expires_at IS NULL OR {_EXPIRES} > ?)"
        params: tuple[Any, ...] = (prefix, prefix + _MAX_KEY, self.clock())
        if not is_prefix_pattern(pattern):
            clause += " AND qhub_glob(?, CAST(key AS TEXT))"
            params += (pattern,)
        return clause, params

    def keys(self, pattern: str = "*") -> Iterator[str]:
        clause, params = self._where(pattern)
        rows: list[Any] = self._run(
            lambda c: c.execute(
                f"SELECT CAST(key AS TEXT) FROM qhub_cache WHERE {clause}", params
            ).fetchall(),
            [],
        )
        return iter([row[0] for row in rows])

    def delete_pattern(self, pattern: str) -> int:
        clause, params = self._where(pattern)
        self._writable()
        removed: int = self._write(
            lambda c: c.execute(f"DELETE FROM qhub_cache WHERE {clause}", params).rowcount, 0
        )
        return removed

    def count(self, prefix: str = "") -> int:
        clause, params = self._where(glob_escape(prefix) + "*")
        total = self._run(
            lambda c: c.execute(
                f"SELECT count(*) FROM qhub_cache WHERE {clause}", params
            ).fetchone()[0],
            0,
        )
        return int(total)

    def bytes_stored(self, prefix: str = "") -> int | None:
        clause, params = self._where(glob_escape(prefix) + "*")
        total = self._run(
            lambda c: c.execute(
                f"SELECT coalesce(sum(length({_VALUE})), 0) FROM qhub_cache WHERE {clause}",
                params,
            ).fetchone()[0],
            0,
        )
        return int(total)

    def purge_expired(self) -> int:
        """Delete every expired row now; returns how many went."""
        now = self.clock()
        removed: int = self._write(
            lambda c: c.execute(
                f"DELETE FROM qhub_cache WHERE expires_at IS NOT NULL AND {_EXPIRES} <= ?",
                (now,),
            ).rowcount,
            0,
        )
        self.expirations += removed
        return removed

    def ping(self) -> None:
        self._run(lambda c: c.execute("SELECT 1").fetchone(), None)

    # -- dogpile lock ---------------------------------------------------------------------
    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        folder = self.path.with_name(self.path.name + ".locks")
        return _hold(folder / f"{digest}.lock", timeout)

    def close(self) -> None:
        with self._registry_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._generation += 1


@contextmanager
def _hold(path: Path, timeout: float) -> Iterator[bool]:
    """``True`` while holding the file lock at ``path``; ``False`` when another process
    held it for ``timeout`` seconds. A lock file that cannot be made at all (read-only or
    full disk) is a backend failure, not a busy key."""
    with ExitStack() as stack:
        started = time.monotonic()
        try:
            stack.enter_context(file_lock(path, timeout, what="cache key lock"))
            acquired = True
        except LockUnavailableError as exc:
            if time.monotonic() - started < timeout:
                raise CacheBackendError(str(exc)) from None
            acquired = False
        yield acquired


def _glob_match(pattern: str, key: str) -> bool:
    return glob_match(pattern, key)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None
