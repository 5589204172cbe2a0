"""A pickle payload planted in the shared Redis is refused, never unpickled."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import redis

from qhub import CacheManager, RedisCacheBackend


class _Plant:
    """Unpickling this runs ``os.system`` (creates the marker file): proof of execution."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _payloads(marker: Path) -> dict[str, bytes]:
    raw = pickle.dumps(_Plant(marker))
    return {
        "raw pickle": raw,
        "qhub header, pickle codec, no signature": b"Q\x01p-" + raw,
        "qhub header, pickle codec, forged signature": b"Q\x01p-" + b"\x00" * 32 + raw,
        "qhub header, zlib pickle": b"Q\x01pz" + b"\x00" * 32 + __import__("zlib").compress(raw),
    }


@pytest.mark.redis
@pytest.mark.parametrize("allow_pickle", [False, True], ids=["default", "signed-pickle-on"])
def test_planted_pickle_is_refused(tmp_path: Path, redis_server, allow_pickle: bool) -> None:
    """Overwrite a cached value in Redis with pickles (bare, with qhub's header, with a
    forged signature): reading it never runs the payload, and the manager reports it
    (error or miss) instead of returning an object."""
    marker = tmp_path / "pwned"
    options = {"allow_pickle": True, "pickle_secret": "s3cret"} if allow_pickle else {}
    cache = CacheManager(
        RedisCacheBackend(url=redis_server.url), namespace="shared", **options
    )
    client = redis.Redis.from_url(redis_server.url)
    try:
        cache.set("users", [{"name": "Ann"}])
        keys = [k for k in client.scan_iter("*") if b"users" in k]
        assert len(keys) == 1, keys
        for label, payload in _payloads(marker).items():
            client.set(keys[0], payload)
            try:
                value = cache.get("users", default="MISS")
            except Exception as exc:  # a refusal must be qhub's own, one-line error
                from qhub.exceptions import QHubError

                assert isinstance(exc, QHubError), f"{label}: {exc!r}"
                assert "\n" not in str(exc)
            else:
                assert value == "MISS", f"{label}: returned {value!r}"
            assert not marker.exists(), f"{label}: the pickle was executed"
        stats = cache.get_stats()
        assert stats["errors"] + stats["misses"] >= len(_payloads(marker)), stats
    finally:
        cache.close()
        client.close()


@pytest.mark.redis
def test_planted_pickle_in_shared_test_data(tmp_path: Path, redis_server, kit, behave_run) -> None:
    """A worker's cached test data replaced by a pickle: the next behave run regenerates
    the data (same records) and never executes the payload."""
    marker = tmp_path / "pwned"
    project = tmp_path / "project"
    kit.write_project(
        project,
        {"data.feature": "Feature: d\n  Scenario: s\n    Given 4 users stored as \"crew\"\n"},
        {"data_steps.py": """
            import json, os
            from behave import given

            @given('{n:d} users stored as "{key}"')
            def step_users(context, n, key):
                users = context.data.users(n, key=key)
                with open(os.environ["REL_OUT"], "a") as fh:
                    fh.write(json.dumps(users) + "\\n")
         """},
    )
    out = tmp_path / "users.jsonl"
    env = kit.qhub_env(project, QHUB_CACHE_BACKEND="redis", QHUB_REDIS_URL=redis_server.url,
                       REL_OUT=str(out))
    first = behave_run(project, env=env)
    assert first.returncode == 0, first.output
    client = redis.Redis.from_url(redis_server.url)
    data_keys = [k for k in client.scan_iter("*") if b":data:" in k and b"tpl:" not in k]
    assert data_keys, list(client.scan_iter("*"))
    for key in data_keys:
        client.set(key, b"Q\x01p-" + b"\x00" * 32 + pickle.dumps(_Plant(marker)))
    client.close()
    second = behave_run(project, env=env)
    assert second.returncode == 0, second.output
    assert not marker.exists(), "the planted pickle was executed"
    runs = [line for line in out.read_text().splitlines() if line]
    assert len(runs) == 2 and runs[0] == runs[1], "the regenerated data differs"
