"""redis-server killed mid-run and restarted: the run passes, nothing written is lost."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

FEATURE = """\
Feature: cache and data through a Redis outage

  Scenario: before the outage
    Given I cache "before" = 1
    And 3 users stored as "crew"
    Then the cache has "before" = 1

  Scenario: Redis is killed here
    Given the run pauses at flag "kill"

  Scenario: during the outage
    Given I cache "during" = 2
    And 4 users stored as "outage-crew"
    Then the cache has "during" = 2
    And the users "outage-crew" are the ones generated first

  Scenario: Redis is restarted here
    Given the run pauses at flag "restart"

  Scenario: after the restart
    Given the cache is back on Redis
    And I cache "after" = 3
    Then the cache has "after" = 3
    And the users "outage-crew" are the ones generated first
    And the users "crew" are the ones generated first
"""

STEPS = """\
import json
import os
import pathlib
import time

from behave import given, then

FLAGS = pathlib.Path(os.environ["REL_FLAGS"])


@given('I cache "{key}" = {value:d}')
def step_set(context, key, value):
    context.cache.set(key, value)


@then('the cache has "{key}" = {value:d}')
def step_get(context, key, value):
    got = context.cache.get(key)
    assert got == value, f"{key}: expected {value}, got {got!r}"


@given("the cache is back on Redis")
def step_back(context):
    # qhub pings the primary at most every 5 s while on the fallback; wait for that.
    deadline = time.monotonic() + 30
    while context.cache.get_stats()["active_backend"] != "redis":
        assert time.monotonic() < deadline, context.cache.get_stats()
        context.cache.get("probe")
        time.sleep(0.1)


@given('{n:d} users stored as "{key}"')
def step_users(context, n, key):
    users = context.data.users(n, key=key)
    first = FLAGS / f"{key}.json"
    if not first.exists():
        first.write_text(json.dumps(users))


@then('the users "{key}" are the ones generated first')
def step_same_users(context, key):
    expected = json.loads((FLAGS / f"{key}.json").read_text())
    assert context.data.get(key) == expected
"""


def _wait_for(path: Path, thread: threading.Thread, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert thread.is_alive(), "behave ended before reaching the flag"
        assert time.monotonic() < deadline, f"behave never reached {path.name}"
        time.sleep(0.02)


@pytest.mark.redis
def test_redis_killed_mid_run_and_restarted(tmp_path: Path, kit, behave_run, redis_server) -> None:
    """Kill -9 redis between scenarios, restart it two scenarios later: the run is green,
    test data stays the same records throughout, and the report counts the outage and
    the reconnection."""
    project = tmp_path / "project"
    flags = tmp_path / "flags"
    flags.mkdir()
    kit.write_project(project, {"outage.feature": FEATURE},
                      {"flag_steps.py": kit.FLAG_STEPS, "cache_steps.py": STEPS})
    env = kit.qhub_env(
        project,
        QHUB_CACHE_BACKEND="redis",
        QHUB_REDIS_URL=redis_server.url,
        QHUB_REDIS_SOCKET_TIMEOUT="0.5",
        REL_FLAGS=str(flags),
    )
    result: dict[str, object] = {}
    runner = threading.Thread(target=lambda: result.setdefault("r", behave_run(project, env=env)))
    runner.start()
    _wait_for(flags / "kill.ready", runner)
    redis_server.stop()
    (flags / "kill.go").touch()
    _wait_for(flags / "restart.ready", runner)
    redis_server.start()
    (flags / "restart.go").touch()
    runner.join(timeout=180)
    run = result["r"]
    assert run.returncode == 0, run.output  # type: ignore[attr-defined]
    assert "5 scenarios passed, 0 failed" in run.stdout  # type: ignore[attr-defined]
    assert "Traceback" not in run.output  # type: ignore[attr-defined]

    report = kit.latest_json_report(project)
    cache = report["stats"]["cache"]
    assert cache["backend"] == "redis"
    assert cache["outages"] >= 1, json.dumps(cache)
    assert cache["errors"] >= 1, json.dumps(cache)
    assert cache["reconnects"] >= 1, json.dumps(cache)
    assert cache["active_backend"] == "redis" and not cache["fallback_active"], json.dumps(cache)


@pytest.mark.redis
def test_values_written_during_outage_survive_reconnect(redis_server) -> None:
    """The issue's "no data lost from the fallback": a value set while Redis was down is
    still there after qhub switched back to the restarted Redis."""
    from qhub import CacheManager, RedisCacheBackend

    now = [0.0]
    cache = CacheManager(
        RedisCacheBackend(url=redis_server.url, socket_timeout=0.5),
        namespace="rel", reconnect_interval=1.0, clock=lambda: now[0],
    )
    try:
        cache.set("before", 1)
        redis_server.stop()
        cache.set("during", 2)
        assert cache.get("during") == 2
        assert cache.get_stats()["fallback_active"] is True
        redis_server.start()
        now[0] += 2.0
        cache.get("probe")
        stats = cache.get_stats()
        assert stats["reconnects"] == 1 and stats["active_backend"] == "redis", stats
        assert cache.get("during") == 2, "the value written during the outage was dropped"
    finally:
        cache.close()
