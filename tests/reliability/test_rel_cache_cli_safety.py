"""``qhub cache`` commands: read-only commands create nothing, and a Redis password is never
shown, whatever characters it holds (issue 11's cache items; class 5 for the cache).

Runs the real console entry (``python -m qhub``) against real files and a real
``redis-server`` started with ``requirepass``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import require_system_binary

REPO = Path(__file__).resolve().parents[2]


def qhub(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "-m", "qhub", *args], cwd=cwd, capture_output=True, text=True,
        env={**base, "PYTHONPATH": str(REPO), **env}, timeout=120, check=False,
    )


@pytest.mark.parametrize("spec", ["{root}/nonexistent/dir/c.db", "sqlite:///{root}/no/c.db"])
@pytest.mark.parametrize("action", ["stats", "clear"])
def test_read_only_commands_create_nothing(tmp_path: Path, spec: str, action: str) -> None:
    """``qhub cache stats --backend /nonexistent/dir/c.db`` (and ``clear``) answer without
    creating the folder or the file (both were created, then reported empty)."""
    backend = spec.format(root=tmp_path)
    before = sorted(tmp_path.rglob("*"))
    done = qhub("cache", action, "--backend", backend, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(tmp_path.rglob("*")) == before, "a read-only command created files"
    if action == "stats":
        assert "items:       0" in done.stdout and "nothing was created" in done.stdout


def test_stats_of_an_existing_file_leaves_its_contents(tmp_path: Path) -> None:
    """``stats`` opens an existing cache read-only: the rows are counted, none change."""
    from qhub.cache import CacheManager, DiskCacheBackend

    path = tmp_path / "c.db"
    with CacheManager(DiskCacheBackend(path), namespace="qhub") as cache:
        cache.set_many({f"k{i}": i for i in range(5)})
    before = path.read_bytes()
    done = qhub("cache", "stats", "--backend", str(path), cwd=tmp_path)
    assert done.returncode == 0 and "items:       5" in done.stdout, done.stdout + done.stderr
    assert path.read_bytes() == before


PASSWORD = "p@ss w0rd+%/x"
"""A Redis password with an at sign, a space, a plus, a percent sign and a slash."""


@pytest.fixture
def auth_redis(tmp_path: Path) -> Iterator[int]:
    binary = require_system_binary("redis-server", "redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path), "--requirepass", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    yield port
    proc.kill()
    proc.wait()


@pytest.mark.redis
@pytest.mark.parametrize("how", ["raw URL", "encoded URL", "password setting"])
@pytest.mark.parametrize("correct", [True, False], ids=["right-password", "wrong-password"])
def test_redis_password_never_shown(tmp_path: Path, auth_redis: int, how: str,
                                    correct: bool) -> None:
    """Right or wrong, raw in the URL, percent-encoded or as ``redis.password``: neither
    ``qhub cache stats`` output nor its error line shows the password or a piece of it."""
    password = PASSWORD if correct else "wr@ng " + PASSWORD[::-1]
    where = f"127.0.0.1:{auth_redis}/0"
    env = {"QHUB_CACHE_BACKEND": "redis"}
    if how == "raw URL":
        env["QHUB_REDIS_URL"] = f"redis://:{password}@{where}"
    elif how == "encoded URL":
        env["QHUB_REDIS_URL"] = f"redis://:{quote(password, safe='')}@{where}"
    else:
        env.update(QHUB_REDIS_PORT=str(auth_redis), QHUB_REDIS_PASSWORD=password)
    done = qhub("cache", "stats", cwd=tmp_path, **env)
    output = done.stdout + done.stderr
    if correct:  # a raw password with @, space or / works too
        assert done.returncode == 0, output
    assert "Traceback" not in output
    assert _leaks_for(password, output) == [], output


def _leaks_for(password: str, text: str) -> list[str]:
    """Forms and pieces of ``password`` found in ``text``."""
    forms = {password, quote(password, safe=""), quote_plus(password)}
    pieces = {part for part in password.replace("@", " ").split() if len(part) >= 4}
    return sorted(form for form in forms | pieces if form in text)
