"""8 processes miss the same key at once on a shared backend: the value is computed once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORKER = r'''
import json, os, sys, time
from qhub.cache import CacheManager

spec, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
missed = os.path.join(folder, "missed")
computed = os.path.join(folder, "computed")

def append(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"x\n")
    os.close(fd)

def lines(path):
    try:
        with open(path) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0

cache = CacheManager(spec, namespace="dog", on_error="fail", lock_timeout=60)
assert cache.get("users") is None, "key present before the race"
append(missed)

def compute():
    append(computed)
    deadline = time.monotonic() + 60
    while lines(missed) < n and time.monotonic() < deadline:
        time.sleep(0.01)  # hold the lock until every process has missed
    return {"by": os.getpid(), "users": [{"id": i} for i in range(3)]}

value = cache.get_or_set("users", compute, ttl=0)
print(json.dumps(value))
'''


def race(tmp_path: Path, spec: str, n: int = 8) -> tuple[int, list[Any]]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), spec, str(tmp_path), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    computed = (tmp_path / "computed").read_text().count("x")
    assert (tmp_path / "missed").read_text().count("x") == n
    return computed, outputs


class TestDogpileAcrossProcesses:
    """The generator runs exactly once for 8 racing processes."""

    def test_disk(self, tmp_path: Path) -> None:
        """SQLite backend: a file lock per key keeps processes apart."""
        computed, outputs = race(tmp_path, str(tmp_path / "shared.db"))
        assert computed == 1
        assert all(o == outputs[0] for o in outputs)

    @pytest.mark.redis
    def test_redis(self, tmp_path: Path, redis_server: Any) -> None:
        """Redis backend: a Redis lock with a timeout keeps processes apart."""
        computed, outputs = race(tmp_path, redis_server.url)
        assert computed == 1
        assert all(o == outputs[0] for o in outputs)
