"""Unprefixed (reference-document) environment variables may belong to other tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhub.config import load_config
from qhub.exceptions import ConfigError

DJANGO = "django.core.cache.backends.redis.RedisCache"


def warnings_of(capfd: pytest.CaptureFixture[str]) -> list[str]:
    return [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("qhub:")]


class TestUnprefixedVariables:
    """``CACHE_BACKEND``, ``REDIS_URL``...: used when valid, ignored with one line when not."""

    def test_invalid_value_of_another_tool_is_ignored_with_one_line(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        cfg = load_config(tmp_path, environ={"CACHE_BACKEND": DJANGO})
        assert cfg.cache.backend == "disk"
        assert cfg.origin("cache.backend") == "default"
        assert warnings_of(capfd) == [
            f"qhub: warning: ignored cache.backend='{DJANGO}' (from environment variable"
            " CACHE_BACKEND): must be one of memory, disk, redis, layered; set"
            " QHUB_CACHE_BACKEND to configure qhub"
        ]

    def test_invalid_number_ignored(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        cfg = load_config(tmp_path, environ={"REDIS_PORT": "tcp://10.0.0.5:6379"})
        assert cfg.redis.port == 6379
        assert warnings_of(capfd) == [
            "qhub: warning: ignored redis.port='tcp://10.0.0.5:6379' (from environment"
            " variable REDIS_PORT): must be a whole number from 1 to 65535; set QHUB_REDIS_PORT"
            " to configure qhub"
        ]

    def test_invalid_secret_is_not_echoed(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        cfg = load_config(tmp_path, environ={"API_POOL_MAXSIZE": "lots"})
        assert cfg.api.pool_maxsize == 20
        assert len(warnings_of(capfd)) == 1

    def test_valid_value_is_used_and_reported_as_unprefixed(self, tmp_path: Path) -> None:
        cfg = load_config(tmp_path, environ={"REDIS_URL": "redis://cache:6379/3", "CACHE_TTL": "5"})
        assert cfg.redis.url == "redis://cache:6379/3"
        assert cfg.from_unprefixed_env() == {
            "cache.default_ttl": "CACHE_TTL",
            "redis.url": "REDIS_URL",
        }
        assert cfg.unprefixed_summary() == (
            "cache.default_ttl from CACHE_TTL, redis.url from REDIS_URL"
        )

    def test_prefixed_twin_wins_and_the_other_is_not_even_read(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        cfg = load_config(
            tmp_path, environ={"CACHE_BACKEND": DJANGO, "QHUB_CACHE_BACKEND": "memory"}
        )
        assert cfg.cache.backend == "memory"
        assert cfg.from_unprefixed_env() == {}
        assert cfg.unprefixed_summary() == ""
        assert warnings_of(capfd) == []

    def test_prefixed_invalid_value_still_stops(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="QHUB_CACHE_BACKEND"):
            load_config(tmp_path, environ={"QHUB_CACHE_BACKEND": DJANGO})
