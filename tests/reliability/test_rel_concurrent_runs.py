"""8 behave processes at once on one history DB and one disk cache: no corruption, every
run recorded, shared data generated once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

WORKERS = 8

FEATURE = """\
Feature: many processes, one state folder

  Scenario: write my own key, share one dataset
    Given I cache my worker number
    And 6 users stored as "shared-crew"
    Then my worker number is cached
    And I note the shared crew
"""

STEPS = """\
import json
import os
import pathlib

from behave import given, then

WORKER = int(os.environ["REL_WORKER"])


@given("I cache my worker number")
def step_set(context):
    context.cache.set(f"worker-{WORKER}", WORKER)


@then("my worker number is cached")
def step_get(context):
    assert context.cache.get(f"worker-{WORKER}") == WORKER


@given('{n:d} users stored as "{key}"')
def step_users(context, n, key):
    context.crew = context.data.users(n, key=key)


@then("I note the shared crew")
def step_note(context):
    out = pathlib.Path(os.environ["REL_OUT"]) / f"crew-{WORKER}.json"
    out.write_text(json.dumps(context.crew))
"""


def test_eight_concurrent_runs(tmp_path: Path, kit, behave_run) -> None:
    """All 8 runs pass and are in history; both SQLite files pass integrity_check; every
    worker's key is in the disk cache; all got the same dataset, generated once."""
    project = tmp_path / "project"
    out = tmp_path / "out"
    out.mkdir()
    kit.write_project(project, {"many.feature": FEATURE}, {"many_steps.py": STEPS})
    results = {}

    def run(i: int) -> None:
        env = kit.qhub_env(project, QHUB_CACHE_BACKEND="disk", REL_WORKER=str(i),
                           REL_OUT=str(out))
        results[i] = behave_run(project, env=env)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert sorted(results) == list(range(WORKERS))
    for i, result in results.items():
        assert result.returncode == 0, f"worker {i}:\n{result.output}"
        assert "Traceback" not in result.output, result.output

    state = project / ".qhub"
    for name in ("history.db", "cache.db"):
        with sqlite3.connect(state / name) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", name
    assert not list(state.glob("*.corrupt-*")), "a healthy file was quarantined"

    from qhub import CacheManager, DiskCacheBackend

    cache = CacheManager(DiskCacheBackend(state / "cache.db"), namespace="qhub")
    try:
        assert {i: cache.get(f"worker-{i}") for i in range(WORKERS)} == {
            i: i for i in range(WORKERS)
        }
    finally:
        cache.close()

    crews = [json.loads((out / f"crew-{i}.json").read_text()) for i in range(WORKERS)]
    assert all(crew == crews[0] for crew in crews) and len(crews[0]) == 6

    merged = tmp_path / "merged"
    proc = subprocess.run(
        [sys.executable, "-m", "qhub", "report", "--last", str(WORKERS), "--format", "json",
         "--dir", str(merged)],
        cwd=project, env={**kit.qhub_env(project), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(next(merged.glob("*.json")).read_text())
    assert report["totals"]["scenarios"] == WORKERS, report["totals"]
    assert report["run"]["workers"] == WORKERS, report["run"]
    per_worker = [s for s in report["stats"].values() if isinstance(s, dict)]
    assert len(per_worker) == WORKERS
    assert sum(s["data"]["misses"] for s in per_worker) == 1, [s["data"] for s in per_worker]
