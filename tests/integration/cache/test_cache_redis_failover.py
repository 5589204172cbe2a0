"""Redis dying and coming back mid-run: fallback to memory, one warning, reconnection."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

from qhub.cache import CacheManager, RedisCacheBackend
from qhub.exceptions import CacheBackendError

pytestmark = pytest.mark.redis


def failure_warnings(capfd: pytest.CaptureFixture[str]) -> list[str]:
    """qhub's warning lines about a backend failure printed so far (qhub._warn's stderr)."""
    err = capfd.readouterr().err
    _seen.extend(line for line in err.splitlines()
                 if line.startswith("qhub: warning:") and "backend failed" in line)
    return list(_seen)


_seen: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    _seen.clear()


class TestRedisFailover:
    """Kill the test's redis-server mid-run and restart it."""

    def test_kill_and_restart(
        self, redis_server: Any, clock: Any, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        """No exception escapes; outage values come from memory; errors counted; reconnects."""
        caplog.set_level(logging.INFO, logger="qhub.cache")
        cache = CacheManager(
            RedisCacheBackend(url=redis_server.url, socket_timeout=1),
            namespace="run",
            reconnect_interval=5,
            clock=clock,
        )
        cache.set("before", "stored in redis")
        assert cache.get("before") == "stored in redis"

        redis_server.stop()
        cache.set("during", {"n": 1})  # fails over here
        assert cache.fallback_active
        assert cache.get("during") == {"n": 1}
        assert cache.get("before") is None  # redis' copy is out of reach: a miss, no error
        assert cache.get_or_set("computed", lambda: 7) == 7
        assert cache.get_many(["during", "x"]) == {"during": {"n": 1}}
        assert cache.invalidate_pattern("x*") == 0
        stats = cache.get_stats()
        assert stats["errors"] == 1
        assert stats["fallback_active"] is True
        assert stats["active_backend"] == "memory"
        assert "Connection" in stats["last_error"] or "connect" in stats["last_error"].lower()
        assert len(failure_warnings(capfd)) == 1

        redis_server.start()
        clock.advance(4)  # not yet time to retry: still on memory
        assert cache.get("during") == {"n": 1}
        assert cache.fallback_active
        clock.advance(2)
        cache.set("after", "back in redis")  # retries, reconnects, writes to redis
        assert not cache.fallback_active
        assert redis.Redis.from_url(redis_server.url).get("run:after") is not None
        assert cache.get("after") == "back in redis"
        stats = cache.get_stats()
        assert (stats["reconnects"], stats["outages"], stats["errors"]) == (1, 1, 1)
        assert len(failure_warnings(capfd)) == 1

    def test_second_outage_warns_again(self, redis_server: Any, clock: Any,
                                       capfd: pytest.CaptureFixture[str]) -> None:
        """Each outage logs one warning, however many calls fail during it."""
        cache = CacheManager(RedisCacheBackend(url=redis_server.url), clock=clock)
        for _ in range(2):
            redis_server.stop()
            for i in range(5):
                cache.set(f"k{i}", i)
                cache.get(f"k{i}")
            redis_server.start()
            clock.advance(10)
            cache.get("k0")
            assert not cache.fallback_active
        assert len(failure_warnings(capfd)) == 2
        assert cache.get_stats()["outages"] == 2

    def test_unreachable_at_start(self, port_factory: Any, clock: Any) -> None:
        """A manager whose Redis never answered works on memory from the first call."""
        cache = CacheManager(
            RedisCacheBackend(port=port_factory(), socket_timeout=0.5), clock=clock
        )
        cache.set("k", [1, 2])
        assert cache.get("k") == [1, 2]
        assert cache.get_stats()["fallback_active"] is True
        assert cache.get_stats()["total_size"] == 1

    def test_fail_mode_raises(self, port_factory: Any) -> None:
        """on_error='fail' raises CacheBackendError instead of falling back."""
        cache = CacheManager(
            RedisCacheBackend(port=port_factory(), socket_timeout=0.5), on_error="fail"
        )
        with pytest.raises(CacheBackendError, match=r"Redis at redis://127\.0\.0\.1"):
            cache.get("k")
        assert not cache.fallback_active
        with pytest.raises(CacheBackendError):
            cache.stats()  # fail mode: every call reports the outage, stats too

    def test_password_never_logged(self, port_factory: Any, caplog: pytest.LogCaptureFixture,
                                   capfd: pytest.CaptureFixture[str]) -> None:
        """The AUTH password in a URL reaches neither logs, warnings, stats nor repr (the
        backend is described by where it connects, without the credentials)."""
        port = port_factory()
        url = f"redis://user:s3cret-pw@127.0.0.1:{port}/0"
        cache = CacheManager(RedisCacheBackend(url=url, socket_timeout=0.5))
        cache.get("k")
        text = caplog.text + str(cache.get_stats()) + repr(cache) + capfd.readouterr().err
        assert "s3cret-pw" not in text
        assert f"redis://127.0.0.1:{port}/0" in repr(cache)


class TestRedisAuthAndDb:
    """AUTH and database numbers through URL and keyword arguments."""

    def test_auth_and_db(self, redis_server: Any) -> None:
        """A password-protected server works with the password, by URL or keywords."""
        admin = redis.Redis.from_url(redis_server.url)
        admin.config_set("requirepass", "pw1")
        port = redis_server.port
        by_url = CacheManager(RedisCacheBackend(url=f"redis://:pw1@127.0.0.1:{port}/3"),
                              on_error="fail")
        by_kw = CacheManager(RedisCacheBackend(port=port, db=3, password="pw1"), on_error="fail")
        by_url.set("k", "v")
        assert by_kw.get("k") == "v"
        check = redis.Redis(port=port, db=3, password="pw1")
        assert check.get("qhub:k") is not None
        assert redis.Redis(port=port, db=0, password="pw1").get("qhub:k") is None
        wrong = CacheManager(RedisCacheBackend(port=port, password="nope"), on_error="fail")
        with pytest.raises(CacheBackendError):
            wrong.get("k")
