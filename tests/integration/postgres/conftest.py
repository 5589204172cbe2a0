"""A real PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` in a temp folder.

One server per test session (start-up costs a second or two), on a free loopback port and
its own socket folder, never the machine's own PostgreSQL. Each test gets a schema of its
own (``search_path`` in the URL's ``options``), so tests never see each other's tables.
The server's superuser has a password and TCP connections must give it, so URLs carry a
real secret (redaction is tested with it). As root, the server runs as the ``postgres``
system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import free_port, require_system_binary

PASSWORD = "pg-Secret-4711"
"""The superuser's password: every test checks it never shows up anywhere."""
USER = "qhub_admin"


def _version_key(path: str) -> tuple[int, ...]:
    found = re.search(r"/postgresql/([\d.]+)/bin/", path)
    return tuple(int(p) for p in found.group(1).split(".")) if found else (0,)


def postgres_bin() -> Path:
    """The folder of ``initdb``/``pg_ctl``: the newest /usr/lib/postgresql/*/bin, else PATH.

    Missing: :func:`tests.conftest.require_system_binary` skips (not root) or fails.
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    return Path(require_system_binary("initdb", "postgresql")).parent


def _postgres_user() -> pwd.struct_passwd:
    """The ``postgres`` system user (PostgreSQL refuses to run as root)."""
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("tests run as root need the 'postgres' system user (package postgresql)")


@dataclass
class PostgresServer:
    """A PostgreSQL cluster owned by the test session."""

    bin: Path
    folder: Path
    port: int = field(default_factory=free_port)
    started: bool = False

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a server tool as the unprivileged ``postgres`` user when we are root."""
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = _postgres_user()
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.folder,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "TZ": "UTC"},
            **kwargs,
        )

    def start(self) -> None:
        if os.geteuid() == 0:
            user = _postgres_user()
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if os.geteuid() == 0:
            os.chown(pwfile, _postgres_user().pw_uid, -1)
        init = self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "-E", "UTF8",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )  # fmt: skip
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr.strip()[-500:]}")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=120"
        )
        started = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode != 0:
            log = (self.folder / "log").read_text(errors="replace")[-800:]
            pytest.fail(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}")
        self.started = True

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", timeout=30)
            self.started = False

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        base = f"postgresql://{USER}:{quote(PASSWORD)}@127.0.0.1:{self.port}/{database}"
        return f"{base}?options=-csearch_path%3D{schema}" if schema else base

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def new_schema(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE SCHEMA {name}")
        return name


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (see the module docstring)."""
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="qhub-pg-"))
    server = PostgresServer(binaries, folder)
    try:
        deadline = time.monotonic() + 90
        server.start()
        assert time.monotonic() < deadline
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A URL whose ``search_path`` is a fresh, empty schema of this test's own."""
    return postgres_server.url(schema=postgres_server.new_schema())
