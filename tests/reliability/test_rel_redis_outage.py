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


# -- class 7: what an outage owes Redis is flushed when the run ends ---------------------
FLUSH_FEATURE = """\
Feature: Redis comes back just before the run ends

  Scenario: before the outage
    Given I cache "before" = 1
    And I cache "doomed" = 9

  Scenario: Redis is killed here
    Given the run pauses at flag "kill"

  Scenario: during the outage
    Given I cache "during" = 2
    And I forget "doomed"

  Scenario: Redis is restarted here, seconds before the end
    Given the run pauses at flag "restart"
"""

FLUSH_STEPS = STEPS + """

@given('I forget "{key}"')
def step_forget(context, key):
    context.cache.delete(key)
"""


@pytest.mark.redis
def test_outage_writes_flushed_when_redis_returns_just_before_close(
    tmp_path: Path, kit, behave_run, redis_server
) -> None:
    """The issue's example: Redis came back a moment before behave ended, before qhub's
    next reconnection check, and the values written during the outage were dropped at
    close. Now close writes them back (bounded by cache.flush_timeout)."""
    import redis

    project = tmp_path / "project"
    flags = tmp_path / "flags"
    flags.mkdir()
    kit.write_project(project, {"flush.feature": FLUSH_FEATURE},
                      {"flag_steps.py": kit.FLAG_STEPS, "cache_steps.py": FLUSH_STEPS})
    env = kit.qhub_env(project, QHUB_CACHE_BACKEND="redis", QHUB_REDIS_URL=redis_server.url,
                       QHUB_REDIS_SOCKET_TIMEOUT="0.5", REL_FLAGS=str(flags))
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
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("qhub:during") is not None, "the outage's write was dropped at close"
    assert client.get("qhub:doomed") is None, "the outage's delete was not replayed"


@pytest.mark.redis
def test_close_with_redis_still_down_says_what_is_lost(redis_server, capfd) -> None:
    """Redis still down when the run ends: one warning naming how many changes could not
    be saved (they vanished without a word)."""
    from qhub import CacheManager, RedisCacheBackend

    cache = CacheManager(RedisCacheBackend(url=redis_server.url, socket_timeout=0.3),
                         namespace="rel", flush_timeout=2)
    redis_server.stop()
    for i in range(3):
        cache.set(f"k{i}", i)
    cache.close()
    lines = [line for line in capfd.readouterr().err.splitlines()
             if "could not be saved" in line]
    assert len(lines) == 1 and "3 change(s)" in lines[0], lines


@pytest.mark.redis
def test_flush_at_close_is_bounded_when_redis_is_frozen(redis_server) -> None:
    """Redis frozen (SIGSTOP) at close: close returns after the socket timeout instead of
    waiting for it; a generous guard, not a speed check."""
    import os
    import signal

    from qhub import CacheManager, RedisCacheBackend

    cache = CacheManager(RedisCacheBackend(url=redis_server.url, socket_timeout=0.3),
                         namespace="rel", reconnect_interval=3600, flush_timeout=1)
    redis_server.stop()
    cache.set("k", 1)
    redis_server.start()
    pid = redis_server.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        cache.close()
        assert time.monotonic() - started < 30
    finally:
        os.kill(pid, signal.SIGCONT)
