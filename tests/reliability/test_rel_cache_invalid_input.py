"""Class 6 for cache and data: invalid input is refused at start-up (or where it is given)
with one line, never accepted to fail later, and a glob has one meaning on every backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qhub.cache import CacheManager, DiskCacheBackend, MemoryCacheBackend, RedisCacheBackend
from qhub.exceptions import ConfigError, QHubError

REPO = Path(__file__).resolve().parents[2]

KEYS = [
    "user:a1", "user:b2", "user:c3", "user:!x", "user:é", "user:e", "user:[x]", "user:a*b",
    "user:", "user:ab", "order:1", "user:\\z",
]
PATTERNS = [
    "user:*", "user:?", "user:??", "user:[a-c]*", "user:[^a]*", "user:[!a]*", "user:\\[x\\]",
    "user:a\\*b", "*:1", "user:[ab]?", "user:[\\\\]z", "user:[é]",
]
INVALID = ["user:[z-a]", "user:[abc", "user:[]", "user:x\\", "user:[a-]"]


def _matching(cache: CacheManager, pattern: str) -> set[str]:
    """Keys a pattern removes, found by removing them from a fresh copy."""
    cache.clear()
    cache.set_many({key: 1 for key in KEYS})
    cache.invalidate_pattern(pattern)
    return {key for key in KEYS if cache.get(key) is None}


@pytest.fixture
def backends(tmp_path: Path, redis_server: Any) -> Iterator[dict[str, CacheManager]]:
    caches = {
        "redis": CacheManager(RedisCacheBackend(url=redis_server.url), namespace="g",
                              on_error="fail"),
        "memory": CacheManager(MemoryCacheBackend(), namespace="g", on_error="fail"),
        "disk": CacheManager(DiskCacheBackend(tmp_path / "c.db"), namespace="g",
                             on_error="fail"),
    }
    yield caches
    for cache in caches.values():
        cache.close()


@pytest.mark.redis
@pytest.mark.parametrize("pattern", PATTERNS)
def test_glob_has_redis_meaning_on_every_backend(backends: dict[str, CacheManager],
                                                 pattern: str) -> None:
    """The same keys match on memory and disk as on a real Redis (SCAN MATCH), including
    ``[!a]`` (no negation in Redis), byte-wise ``?`` against ``é`` and escapes."""
    expected = _matching(backends["redis"], pattern)
    assert _matching(backends["memory"], pattern) == expected, "memory"
    assert _matching(backends["disk"], pattern) == expected, "disk"


@pytest.mark.parametrize("kind", ["memory", "disk"])
@pytest.mark.parametrize("pattern", INVALID)
def test_invalid_glob_is_one_line_and_no_backend_switch(tmp_path: Path, kind: str,
                                                        pattern: str) -> None:
    """The issue's example ``[z-a]`` and other patterns Redis would silently reinterpret:
    one-line PatternError, nothing removed, no switch to the in-memory fallback, and
    writes made afterwards are in the file after close (they were lost at exit)."""
    from qhub.exceptions import PatternError

    backend = MemoryCacheBackend() if kind == "memory" else DiskCacheBackend(tmp_path / "c.db")
    cache = CacheManager(backend, namespace="g")
    cache.set("user:a", 1)
    with pytest.raises(PatternError) as raised:
        cache.invalidate_pattern(pattern)
    assert "\n" not in str(raised.value) and "invalid glob pattern" in str(raised.value)
    assert cache.get_stats()["fallback_active"] is False
    cache.set("after", 2)
    assert cache.get("user:a") == 1
    cache.close()
    if kind == "disk":
        with CacheManager(DiskCacheBackend(tmp_path / "c.db"), namespace="g") as again:
            assert (again.get("user:a"), again.get("after")) == (1, 2)


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "-m", "qhub", *args], cwd=cwd, capture_output=True, text=True,
        env={**full, "PYTHONPATH": str(REPO), **env}, timeout=120, check=False,
    )


@pytest.mark.redis
def test_cli_clear_with_invalid_pattern(tmp_path: Path, redis_server: Any) -> None:
    """``qhub cache clear '[z-a]'`` on Redis: exit 2, one error line, nothing removed."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("qhub:users:1", b"x")
    done = _cli("cache", "clear", "--pattern", "users:[z-a]", cwd=tmp_path,
                env={"QHUB_CACHE_BACKEND": "redis", "QHUB_REDIS_URL": redis_server.url})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "invalid glob pattern" in done.stderr
    assert client.get("qhub:users:1") == b"x"


@pytest.mark.redis
def test_empty_namespace_is_refused_and_shared_redis_kept(tmp_path: Path,
                                                          redis_server: Any) -> None:
    """The issue's example: an empty ``cache.namespace`` made ``qhub cache clear`` delete
    every key of a shared Redis database. Refused with one line; other keys stay."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("someone-elses:key", b"precious")
    done = _cli("cache", "clear", cwd=tmp_path,
                env={"QHUB_CACHE_BACKEND": "redis", "QHUB_REDIS_URL": redis_server.url,
                     "QHUB_CACHE_NAMESPACE": ""})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cache.namespace" in done.stderr and done.stderr.count("\n") == 1
    assert client.get("someone-elses:key") == b"precious"


@pytest.mark.parametrize("where", ["manager", "cli-option"])
def test_empty_namespace_other_ways(tmp_path: Path, where: str) -> None:
    """``CacheManager(namespace="")`` and ``--namespace ''`` are refused the same way."""
    if where == "manager":
        with pytest.raises(ConfigError, match="namespace"):
            CacheManager(MemoryCacheBackend(), namespace="")
        return
    done = _cli("cache", "stats", "--namespace", "", cwd=tmp_path,
                env={"QHUB_CACHE_BACKEND": "memory"})
    assert done.returncode == 2 and "namespace" in done.stderr, done.stderr


TEMPLATES_WITH_BAD_SPECS = {
    "sequence {n:s}": ("code: {sequence: 'C-{n:s}'}", "value of type int"),
    "format {id:%Y} on an int": ("label: {format: '{id:%Y}'}", "value of type int"),
    "format {email:d} on text": ("label: {format: '{email:d}'}", "value of type str"),
    "conversion !x": ("label: {format: '{email!x}'}", "unknown conversion"),
    "choice of ints with {x:s}": (
        "x: {choice: [1, 2]}\n      label: {format: '{x:s}'}", "value of type int"),
}


@pytest.mark.parametrize("label", list(TEMPLATES_WITH_BAD_SPECS))
def test_format_spec_that_cannot_apply_fails_at_load(tmp_path: Path, label: str) -> None:
    """The issue's example ``{n:s}`` on an int, and more: a TemplateError naming file:line
    when the templates load, not a ValueError in the middle of a scenario."""
    from qhub.data import CacheAwareDataReader, TestData
    from qhub.exceptions import DataError, TemplateError

    fields, problem = TEMPLATES_WITH_BAD_SPECS[label]
    (tmp_path / "t.yaml").write_text(
        f"templates:\n  member:\n    kind: user\n    fields:\n      {fields}\n"
    )
    try:
        loaded = CacheAwareDataReader(None, tmp_path, root=tmp_path).load()
        TestData(None, templates=loaded).records("member", 2)
    except TemplateError as exc:
        line = 5 + fields.count("\n")
        assert str(exc).startswith(f"t.yaml:{line}:") and problem in str(exc), str(exc)
    except DataError as exc:
        raise AssertionError(f"found only when records were made: {exc}") from None
    else:
        raise AssertionError("a format spec that cannot apply was accepted")


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("QHUB_DATA_LOCALE", "xx_YY", "xx_YY"),
    ("QHUB_CACHE_NAMESPACE", "", "cache.namespace"),
    ("QHUB_CACHE_NAMESPACE", "my suite*", "cache.namespace"),
])
def test_bad_cache_or_data_setting_stops_behave_before_any_scenario(
    tmp_path: Path, kit: Any, behave_run: Any, *, variable: str, value: str, named: str
) -> None:
    """``data.locale = xx_YY`` (it failed in the first step that used data, or not at all
    on a warm cache) and an empty or glob-holding ``cache.namespace``: one ``qhub: error:``
    line at start-up, no scenario runs."""
    marker = tmp_path / "ran"
    kit.write_project(
        tmp_path,
        {"one.feature": "Feature: f\n  Scenario: s\n    Given a step that leaves a marker\n"},
        {"steps.py": f"""
            from behave import given

            @given("a step that leaves a marker")
            def step(context):
                open({str(marker)!r}, "w").close()
                context.data.users(1)
         """},
    )
    result = behave_run(tmp_path, env=kit.qhub_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert not marker.exists(), f"a scenario ran with {variable}={value!r}"
    errors = [line for line in result.output.splitlines() if line.startswith("qhub: error:")]
    assert len(errors) == 1 and named in errors[0], result.output
    assert "Traceback" not in result.output


def test_locale_check_names_close_matches() -> None:
    """A near-miss locale gets suggestions; a valid non-default one loads."""
    from qhub.data._faker import check_locale
    from qhub.exceptions import DataError

    with pytest.raises(DataError, match=r"did you mean .*de_DE"):
        check_locale("de_DX")
    assert check_locale("de_DE") == "de_DE"
    assert isinstance(DataError("x"), QHubError)


@pytest.mark.redis
@pytest.mark.parametrize("ttl", [float("inf"), float("nan"), 1e300, -1, 10**20])
def test_ttl_that_would_overflow_is_refused(redis_server: Any, ttl: float,
                                            capfd: pytest.CaptureFixture[str]) -> None:
    """A TTL Redis cannot hold (``inf``, ``nan``, 1e300 s): ``set`` returns False with one
    warning (it raised OverflowError into the step, or switched to memory for good and
    lost every later write at exit); the cache stays on Redis."""
    import redis

    cache = CacheManager(RedisCacheBackend(url=redis_server.url), namespace="ttl")
    try:
        assert cache.set("k", 1, ttl=ttl) is False
        assert cache.set("after", 2) is True
        stats = cache.get_stats()
        assert stats["fallback_active"] is False and stats["errors"] == 1
        assert redis.Redis.from_url(redis_server.url).get("ttl:after") is not None
        assert "Traceback" not in capfd.readouterr().err
    finally:
        cache.close()


@pytest.mark.parametrize(("key", "value"), [
    ("QHUB_CACHE_DEFAULT_TTL", "100000000000"), ("QHUB_DATA_CACHE_TTL", "1000000000000"),
    ("QHUB_CACHE_LOCK_TIMEOUT", "1e300"),
])
def test_overflowing_durations_refused_at_start_up(tmp_path: Path, key: str,
                                                   value: str) -> None:
    """The same durations in configuration: one ConfigError line naming the setting."""
    from qhub.config import load_config

    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path, environ={key: value})
    assert "\n" not in str(raised.value)
    assert key.removeprefix("QHUB_").lower().replace("_", ".", 1) in str(raised.value)
