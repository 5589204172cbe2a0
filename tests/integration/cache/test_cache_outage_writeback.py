"""Changes made on the in-memory fallback during a Redis outage reach Redis on reconnection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from qhub.cache import CacheManager, RedisCacheBackend

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(redis_server: Any, clock: Any) -> Iterator[CacheManager]:
    manager = CacheManager(
        RedisCacheBackend(url=redis_server.url, socket_timeout=0.5),
        namespace="run", reconnect_interval=5, clock=clock,
    )
    yield manager
    manager.close()


def _outage(cache: CacheManager, redis_server: Any) -> None:
    redis_server.stop()
    cache.set("probe-outage", 0)
    assert cache.fallback_active


def _reconnect(cache: CacheManager, clock: Any) -> None:
    clock.advance(6)
    cache.get("probe-reconnect")


def test_sets_are_written_back_with_their_remaining_ttl(
    cache: CacheManager, redis_server: Any, clock: Any
) -> None:
    _outage(cache, redis_server)
    cache.set("forever", {"n": 1}, ttl=0)
    cache.set("hour", [1, 2], ttl=3600)
    cache.set_many({"a": 1, "b": 2}, ttl=0)
    cache.namespaced("users").set("7", "seven", ttl=0)
    redis_server.start()
    _reconnect(cache, clock)
    stats = cache.get_stats()
    assert (stats["active_backend"], stats["reconnects"]) == ("redis", 1)
    assert cache.get("forever") == {"n": 1}
    assert cache.get("hour") == [1, 2]
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert cache.namespaced("users").get("7") == "seven"
    raw = redis.Redis.from_url(redis_server.url)
    assert raw.pttl("run:forever") == -1
    assert 0 < raw.pttl("run:hour") <= 3_600_000
    # the fallback is gone: a value now deleted from Redis is not served from memory
    raw.delete("run:a")
    assert cache.get("a") is None


def test_deletes_and_invalidations_are_replayed_in_order(
    cache: CacheManager, redis_server: Any, clock: Any
) -> None:
    _outage(cache, redis_server)
    cache.set("temp", 1)
    cache.delete("temp")                   # set then deleted: gone in Redis too
    cache.delete("old")                    # only Redis has it: deleted there
    cache.set("users:1", "stale")
    cache.invalidate_pattern("users:*")    # removes users:1 here and users:* there
    cache.set("users:2", "fresh")          # written after the invalidation: kept
    cache.namespaced("jobs").clear()       # this namespace only
    redis_server.start()
    raw = redis.Redis.from_url(redis_server.url)
    # values Redis holds from before the outage (as if it had persisted them)
    raw.mset({"run:temp": b"x", "run:old": b"x", "run:users:1": b"x", "run:users:3": b"x",
              "run:jobs:1": b"x", "run:kept": b"x", "other:users:1": b"x"})
    _reconnect(cache, clock)
    assert not cache.fallback_active
    left = sorted(k.decode() for k in raw.keys("*"))
    assert left == ["other:users:1", "run:kept", "run:probe-outage", "run:users:2"]
    assert cache.get("users:2") == "fresh"


def test_failed_write_back_stays_degraded_and_keeps_the_fallback(
    cache: CacheManager, redis_server: Any, clock: Any
) -> None:
    _outage(cache, redis_server)
    cache.set("during", 2, ttl=0)
    redis_server.start()
    raw = redis.Redis.from_url(redis_server.url)
    raw.config_set("maxmemory-policy", "noeviction")
    raw.config_set("maxmemory", "1")       # PING answers, every SET is refused (OOM)
    _reconnect(cache, clock)
    stats = cache.get_stats()
    assert stats["fallback_active"] is True and stats["reconnects"] == 0, stats
    assert "OOM" in stats["last_error"] or "memory" in stats["last_error"]
    assert cache.get("during") == 2        # still served from the fallback
    cache.set("later", 3, ttl=0)           # journaled too
    raw.config_set("maxmemory", "0")
    _reconnect(cache, clock)
    stats = cache.get_stats()
    assert stats["fallback_active"] is False and stats["reconnects"] == 1, stats
    assert raw.get("run:during") is not None and raw.get("run:later") is not None
    assert (cache.get("during"), cache.get("later")) == (2, 3)
