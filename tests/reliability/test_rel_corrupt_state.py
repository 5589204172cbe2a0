"""History DB and disk cache truncated or filled with garbage between runs: the broken
file is quarantined, the next run is green and recorded."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

FEATURE = """\
Feature: state that survives between runs

  Scenario: cache and data
    Given I cache "answer" = 42
    And 5 users stored as "crew"
    Then the cache has "answer" = 42
    And the users "crew" are 5 records
"""

STEPS = """\
from behave import given, then


@given('I cache "{key}" = {value:d}')
def step_set(context, key, value):
    context.cache.set(key, value)


@then('the cache has "{key}" = {value:d}')
def step_get(context, key, value):
    assert context.cache.get(key) == value


@given('{n:d} users stored as "{key}"')
def step_users(context, n, key):
    context.data.users(n, key=key)


@then('the users "{key}" are {n:d} records')
def step_count(context, key, n):
    assert len(context.data.get(key)) == n
"""


def _truncate(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(max(size // 3, 1))


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(2048) + b"this is not a database" * 50)


def _history_runs(project: Path) -> int:
    with sqlite3.connect(project / ".qhub" / "history.db") as db:
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def _damage_and_rerun(tmp_path: Path, kit, behave_run, target: str, damage):
    """Green run, damage ``target`` (and its -wal/-shm), run again; return env and 2nd run."""
    kit.write_project(tmp_path, {"state.feature": FEATURE}, {"state_steps.py": STEPS})
    env = kit.qhub_env(tmp_path, QHUB_CACHE_BACKEND="disk")
    first = behave_run(tmp_path, env=env)
    assert first.returncode == 0, first.output
    damaged = tmp_path / ".qhub" / target
    assert damaged.is_file()
    damage(damaged)
    for side in damaged.parent.glob(f"{target}-*"):  # a crash also leaves -wal/-shm behind
        damage(side)
    return env, behave_run(tmp_path, env=env)


TARGETS = pytest.mark.parametrize("target", ["history.db", "cache.db"])
DAMAGES = pytest.mark.parametrize("damage", [_truncate, _garbage], ids=["truncated", "garbage"])


@TARGETS
@DAMAGES
def test_damaged_state_is_quarantined(
    tmp_path: Path, kit, behave_run, target: str, damage
) -> None:
    """Damage one state file after a green run: the next run is green, the damaged file is
    kept aside as ``<name>.corrupt-*``, and a third run is recorded normally."""
    env, second = _damage_and_rerun(tmp_path, kit, behave_run, target, damage)
    state = tmp_path / ".qhub"
    assert second.returncode == 0, second.output
    assert re.search(r"\b1 scenarios? passed, 0 failed", second.stdout), second.output
    assert "Traceback" not in second.output, second.output
    quarantined = sorted(state.glob(f"{target}.corrupt-*"))
    assert quarantined, f"nothing quarantined in {sorted(p.name for p in state.iterdir())}"

    third = behave_run(tmp_path, env=env)
    assert third.returncode == 0, third.output
    assert sorted(state.glob(f"{target}.corrupt-*")) == quarantined, "quarantined again"
    expected_runs = 2 if target == "history.db" else 3
    assert _history_runs(tmp_path) == expected_runs
    with sqlite3.connect(state / target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@TARGETS
def test_quarantine_is_announced(tmp_path: Path, kit, behave_run, target: str) -> None:
    """The user is told which file was moved aside (a line naming it and "corrupt")."""
    _, second = _damage_and_rerun(tmp_path, kit, behave_run, target, _garbage)
    assert second.returncode == 0, second.output
    lines = [ln for ln in second.output.splitlines() if target in ln and "corrupt" in ln]
    assert lines, f"no message about the quarantined {target}:\n{second.output[-1500:]}"
