"""A pickle written into the shared Redis by another program is refused, never loaded."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import redis

from qhub.cache import CacheManager, RedisCacheBackend
from qhub.cache.serializer import Serializer
from qhub.exceptions import UnsafePayloadError

pytestmark = pytest.mark.redis


class Exploit:
    """Unpickling this creates a marker file, so a test can see whether it was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


class TestPickleRefused:
    """Peers cannot make qhub unpickle data."""

    def test_raw_pickle_refused(self, redis_server: Any, tmp_path: Path) -> None:
        """A raw pickle under our key reads as a miss, counts an error, runs no code."""
        marker = tmp_path / "pwned"
        peer = redis.Redis.from_url(redis_server.url)
        peer.set("qhub:users", pickle.dumps(Exploit(marker)))
        cache = CacheManager(RedisCacheBackend(url=redis_server.url))
        assert cache.get("users", "default") == "default"
        assert cache.get_or_set("users", lambda: ["fresh"]) == ["fresh"]
        assert not marker.exists()
        stats = cache.get_stats()
        assert stats["errors"] == 2  # once in get, once in get_or_set's lookup
        assert stats["hits"] == 0

    def test_pickle_codec_refused_without_opt_in(self, redis_server: Any, tmp_path: Path) -> None:
        """Our own signed-pickle format is refused too unless allow_pickle is on."""
        marker = tmp_path / "pwned"
        signer = Serializer(allow_pickle=True, pickle_secret="peer-secret")
        data = signer.dumps(Exploit(marker))
        assert data[2:3] == b"p"
        redis.Redis.from_url(redis_server.url).set("qhub:k", data)
        strict = CacheManager(RedisCacheBackend(url=redis_server.url), on_error="fail")
        with pytest.raises(UnsafePayloadError, match="pickle is off"):
            strict.get("k")
        assert not marker.exists()

    def test_wrong_signature_refused(self, redis_server: Any, tmp_path: Path) -> None:
        """With pickle allowed, a payload signed with another secret is still refused."""
        marker = tmp_path / "pwned"
        forged = Serializer(allow_pickle=True, pickle_secret="attacker").dumps(Exploit(marker))
        redis.Redis.from_url(redis_server.url).set("qhub:k", forged)
        cache = CacheManager(
            RedisCacheBackend(url=redis_server.url),
            allow_pickle=True,
            pickle_secret="ours",
            on_error="fail",
        )
        with pytest.raises(UnsafePayloadError, match="signature"):
            cache.get("k")
        assert not marker.exists()

    def test_signed_pickle_round_trip_when_allowed(self, redis_server: Any) -> None:
        """Opted in with a shared secret, objects JSON cannot hold round-trip."""
        options: dict[str, Any] = {"allow_pickle": True, "pickle_secret": "s", "on_error": "fail"}
        a = CacheManager(RedisCacheBackend(url=redis_server.url), **options)
        b = CacheManager(RedisCacheBackend(url=redis_server.url), **options)
        a.set("p", Path(os.sep, "tmp", "x"))
        assert b.get("p") == Path(os.sep, "tmp", "x")
