"""Parallel workers sharing Redis: one generation per key, identical data everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORKER = """
import hashlib, json, os, sys, time
from qhub.cache import CacheManager, RedisCacheBackend
from qhub.data import TestData

url, go = sys.argv[1], sys.argv[2]
cache = CacheManager(RedisCacheBackend(url=url)).namespaced("data")
data = TestData(cache, seed=77)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
users = data.users(1500)
digest = hashlib.sha256(json.dumps(users, sort_keys=True).encode()).hexdigest()
print(json.dumps({**data.get_cache_performance_metrics(), "digest": digest}), flush=True)
"""


@pytest.mark.redis
def test_workers_share_one_generation(redis_server: Any, tmp_path: Path) -> None:
    go = tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, redis_server.url, str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        go.touch()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert sorted(r["misses"] for r in results) == [0, 0, 0, 1]
    assert sum(r["faker_instances"] for r in results) == 1
    assert len({r["digest"] for r in results}) == 1
