"""End to end: the example suite (repo root) as CI pipelines of 3 shards, each shard a real
``behave`` process started with ``$(qhub shard)``'s arguments, all writing to one
PostgreSQL history; then ``qhub report --group`` and ``qhub check --group``.

Checks: the pipeline is one history entry whose scenario set equals an unsharded run's;
its wall time is the slowest shard's, its work the sum of the shards'; the gate compares
the pipeline with a baseline pipeline; a database that is away leaves a run green with
one warning and its reports written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qhub.profiling.history.postgres import PostgresHistory
from tests.conftest import REPO_ROOT, free_port, isolated_env
from tests.integration.postgres.conftest import PASSWORD

SHARDS = 3
pytestmark = pytest.mark.slow


def qhub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qhub", *args], cwd=REPO_ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def base_env(root: Path, url: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_", "CI_"))}
    keep = {k: v for k, v in keep.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    return {
        **keep, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1",
        **isolated_env(root, QHUB_PROFILING_HISTORY_URL=url, **extra),
    }  # fmt: skip


def run_pipeline(tmp_path: Path, url: str, pipeline: str) -> tuple[list[list[str]], str]:
    """Start the shards of ``pipeline`` side by side; the arguments each shard ran, and
    what ``qhub shard`` said on stderr."""
    procs, planned, said = [], [], []
    for index in range(1, SHARDS + 1):
        root = tmp_path / f"{pipeline}-{index}"
        env = base_env(
            root, url, QHUB_PIPELINE_ID=pipeline, CI_NODE_TOTAL=str(SHARDS),
            CI_NODE_INDEX=str(index),
        )  # fmt: skip
        shard = qhub("shard", env=env)
        assert shard.returncode == 0, shard.stderr
        args = shard.stdout.split()
        planned.append(args)
        said.append(shard.stderr)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "behave", "--no-color", "-f", "null", *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out[-2000:]
        assert PASSWORD not in out
    return planned, "".join(said)


def scenario_keys(report: Path) -> list[str]:
    return sorted(s["key"] for s in json.loads(report.read_text(encoding="utf-8"))["scenarios"])


def test_three_shards_one_report_one_gate(tmp_path: Path, postgres_url: str) -> None:
    alone = tmp_path / "alone"
    solo = subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", "null"], cwd=REPO_ROOT,
        env=base_env(alone, postgres_url), capture_output=True, text=True, timeout=240,
        check=False,
    )  # fmt: skip
    assert solo.returncode == 0, solo.stdout + solo.stderr
    unsharded = scenario_keys(alone / "reports" / "qhub-report.json")
    assert len(unsharded) == 15

    plan_a, said = run_pipeline(tmp_path, postgres_url, "pipe-A")
    assert all(plan_a) and len({a for args in plan_a for a in args}) == sum(map(len, plan_a))
    assert "durations from 1 recorded run(s)" in said  # the unsharded run's
    assert said.count("plan pinned for pipeline pipe-A") == SHARDS
    reader = base_env(tmp_path / "reader", postgres_url)
    pinned = qhub("baseline", "set", "--run", "pipe-A", env=reader)
    assert pinned.returncode == 0, pinned.stderr

    _, said = run_pipeline(tmp_path, postgres_url, "pipe-B")
    assert "durations from 2 recorded run(s)" in said
    report = qhub(
        "report", "--group", "pipe-B", "--format", "json", "--format", "html",
        "--dir", str(tmp_path / "group"), env=reader,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    merged = tmp_path / "group" / "qhub-report.json"
    assert (tmp_path / "group" / "qhub-report.html").is_file()
    assert scenario_keys(merged) == unsharded
    doc = json.loads(merged.read_text(encoding="utf-8"))
    assert doc["run"]["id"] == "pipe-B" and len(doc["run"]["parts"]) == SHARDS

    with PostgresHistory(postgres_url, readonly=True) as history:
        summary = history.get_run("pipe-B")
        assert summary is not None and summary.parts == SHARDS
        shards = history.parts("pipe-B")
        assert sorted(p.run.shard or "" for p in shards) == ["1/3", "2/3", "3/3"]
        walls = [p.run.wall_ms for p in shards]
        assert summary.wall_ms == pytest.approx(max(walls), abs=0.01)  # the slowest shard
        work = sum(p.attribution.ms("step_bodies") for p in shards)
        assert summary.step_ms == pytest.approx(work, abs=0.01)  # work adds up
        assert [s.id for s in history.runs(pipeline="pipe-B")] == ["pipe-B"]  # one entry

    check = qhub("check", "--group", "pipe-B", "--format", "json", env=reader)
    assert check.returncode in (0, 1), check.stderr
    verdict = json.loads(check.stdout)
    assert verdict["baseline"]["runs"] == ["pipe-A"], verdict["baseline"]
    assert verdict["counts"]["compared"] > 0, verdict["counts"]


def test_unreachable_database_keeps_the_run_green(tmp_path: Path) -> None:
    """Like an unreachable Redis: one warning, reports written, exit 0."""
    url = f"postgresql://qhub:{PASSWORD}@127.0.0.1:{free_port()}/qhub"
    root = tmp_path / "away"
    env = base_env(root, url, QHUB_PROFILING_HISTORY_CONNECT_TIMEOUT_S="2")
    result = subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", "null", "features/pets.feature"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    warnings = [line for line in output.splitlines() if "cannot be used" in line]
    assert len(warnings) == 1 and "this run is not recorded" in warnings[0]
    assert PASSWORD not in output and "<redacted>" in warnings[0]
    assert (root / "reports" / "qhub-report.json").is_file()
