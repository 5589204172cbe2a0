"""Class 4: whatever is stored may be hostile. Values planted in a shared Redis or in
``cache.db`` read as counted misses (the bad entry deleted where that is safe), never as an
exception in a step, run after run; decompression has a cap.

Values are planted with plain redis-py and sqlite3 into a real ``redis-server`` and a real
SQLite file, under the key the manager uses.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qhub.cache import CacheManager, DiskCacheBackend, RedisCacheBackend

REPO = Path(__file__).resolve().parents[2]
TAGGED = b"Q\x01t-"


def _deep_tagged_list(depth: int) -> bytes:
    inner = '{"__qh__":["tuple",[1]]}'
    return TAGGED + ("[" * depth + inner + "]" * depth).encode()


HOSTILE: dict[str, bytes] = {
    "unknown time zone": TAGGED + json.dumps(
        {"__qh__": ["dt", "2024-01-01T00:00:00", "Mars/Olympus_Mons"]}).encode(),
    "tag that is a number": TAGGED + b'{"__qh__": 5}',
    "bad Decimal": TAGGED + b'{"__qh__": ["dec", "twelve"]}',
    "unhashable set members": TAGGED + b'{"__qh__": ["set", [[1, 2], [3]]]}',
    "1,000-deep tagged list": _deep_tagged_list(1000),
    "unknown tag": TAGGED + b'{"__qh__": ["pwn", "x"]}',
    "truncated zlib": b"Q\x01tz" + zlib.compress(b'{"a": 1}' * 100)[:20],
    "not a qhub value": b"\x00\x01garbage",
    "bad JSON": b"Q\x01j-{not json",
}
"""Each decodes to nothing: a counted miss, and the entry is deleted."""


class Store:
    """Plant raw bytes under a full key, and look at what is there, in one backend."""

    def __init__(self, cache: CacheManager, plant: Callable[[str, Any], None],
                 peek: Callable[[str], Any]) -> None:
        self.cache, self.plant, self.peek = cache, plant, peek


@pytest.fixture(params=["redis", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "redis":
        import redis

        server = request.getfixturevalue("redis_server")
        client = redis.Redis.from_url(server.url)
        cache = CacheManager(RedisCacheBackend(url=server.url), namespace="shared")
        yield Store(cache, client.set, client.get)
        client.close()
    else:
        path = tmp_path / ".qhub" / "cache.db"
        cache = CacheManager(DiskCacheBackend(path), namespace="shared")
        cache.set("warmup", 1)

        def plant(key: str, value: Any) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute("INSERT OR REPLACE INTO qhub_cache VALUES (?, ?, NULL)",
                             (key, value))

        def peek(key: str) -> Any:
            with sqlite3.connect(path) as conn:
                row = conn.execute("SELECT value FROM qhub_cache WHERE key = ?",
                                   (key,)).fetchone()
            return None if row is None else row[0]

        yield Store(cache, plant, peek)
    cache.close()


@pytest.mark.redis
@pytest.mark.parametrize("label", list(HOSTILE))
def test_planted_value_is_a_counted_miss_and_deleted(store: Store, label: str,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """Each hostile value: get() returns the default, the miss and the error are counted,
    the entry is gone, and the key works normally afterwards."""
    cache = store.cache
    store.plant("shared:users", HOSTILE[label])
    before = cache.get_stats()
    assert cache.get("users", "MISS") == "MISS"
    after = cache.get_stats()
    assert after["misses"] == before["misses"] + 1
    assert after["errors"] == before["errors"] + 1
    assert store.peek("shared:users") is None, "the damaged entry was left in place"
    assert cache.get_or_set("users", lambda: [{"id": 1}]) == [{"id": 1}]
    assert cache.get("users") == [{"id": 1}]
    err = capfd.readouterr().err
    assert "Traceback" not in err


@pytest.mark.redis
def test_unknown_codec_is_a_miss_but_kept(store: Store) -> None:
    """A value in a codec this version does not know (a newer writer sharing the store)
    is a miss, but it is not deleted: it may be valid for its writer."""
    store.plant("shared:k", b"Q\x01x-future format")
    assert store.cache.get("k", "MISS") == "MISS"
    assert store.peek("shared:k") == b"Q\x01x-future format"


def test_planted_rows_of_the_wrong_sqlite_type(tmp_path: Path) -> None:
    """Rows planted in cache.db with a TEXT value, an INTEGER value (``bytes(10**9)``
    would allocate a gigabyte) and a TEXT expiry: misses, not exceptions."""
    path = tmp_path / ".qhub" / "cache.db"
    cache = CacheManager(DiskCacheBackend(path), namespace="shared")
    cache.set("ok", 1)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO qhub_cache VALUES ('shared:text', 'hello', NULL)")
        conn.execute("INSERT INTO qhub_cache VALUES ('shared:int', 1000000000, NULL)")
        conn.execute("INSERT INTO qhub_cache VALUES ('shared:expiry', X'00', 'soon')")
    try:
        for key in ("text", "int", "expiry"):
            assert cache.get(key, "MISS") == "MISS", key
        assert cache.get_many(["text", "int", "ok"]) == {"ok": 1}
        assert cache.get_stats()["total_size"] >= 1
    finally:
        cache.close()


ZLIB_BOMB = """\
import sys, zlib, redis
from qhub.cache import CacheManager, RedisCacheBackend
url = sys.argv[1]
packer = zlib.compressobj(9)
chunk = b"\\0" * (1 << 20)
bomb = b"".join(packer.compress(chunk) for _ in range(1024)) + packer.flush()  # 1 GiB
redis.Redis.from_url(url).set("shared:bomb", b"Q\\x01jz" + bomb)
cache = CacheManager(RedisCacheBackend(url=url), namespace="shared")
print(len(bomb), cache.get("bomb", "MISS"), cache.get_stats()["errors"])
"""


@pytest.mark.redis
def test_zlib_bomb_is_refused_under_a_memory_limit(redis_server: Any) -> None:
    """About 1 MB of zlib that inflates to 1 GiB, planted in Redis, read by a process
    limited to 900 MB of address space: a counted miss (it inflated without limit and
    died with MemoryError). The cap is cache.max_value_bytes (256 MiB by default)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (900 << 20, 900 << 20))

    done = subprocess.run(
        [sys.executable, "-c", ZLIB_BOMB, redis_server.url], capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=limit,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-1500:]
    size, value, errors = done.stdout.split()
    assert int(size) < 2 << 20 and value == "MISS" and errors == "1"
    assert "cache.max_value_bytes" in done.stderr


@pytest.mark.redis
def test_planted_dataset_and_template_entries_are_regenerated(
    tmp_path: Path, redis_server: Any
) -> None:
    """Test data in a shared Redis overwritten with nonsense (a string instead of records,
    too few records, a template-parse entry asking Faker for a gigabyte): the next run gets
    the same records as before, freshly generated, with one warning."""
    import redis

    from qhub.config import load_config
    from qhub.data import data_from_config

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "t.yaml").write_text(
        "templates:\n  member:\n    kind: user\n    fields:\n      motto: {faker: pystr}\n"
    )
    env = {"QHUB_CACHE_BACKEND": "redis", "QHUB_REDIS_URL": redis_server.url,
           "QHUB_DATA_TEMPLATES_DIR": str(folder), "QHUB_PROFILING_ENABLED": "false"}

    def run() -> tuple[list[Any], list[Any]]:
        config = load_config(root=tmp_path, environ=env)
        data = data_from_config(config, None)
        try:
            return data.users(3), data.records("member", 2)
        finally:
            data.close()

    first = run()
    client = redis.Redis.from_url(redis_server.url)
    keys = [k for k in client.scan_iter("qhub:data:*")]
    users_key = next(k for k in keys if b":user:3:" in k)
    template_key = next(k for k in keys if b":tpl:" in k)
    client.set(users_key, b"Q\x01j-" + json.dumps("not records").encode())
    hostile = {"templates": {"member": {
        "name": "member", "kind": "user", "file": "t.yaml", "line": 2,
        "fields": {"motto": {"faker": "pystr", "args": [], "kwargs": {"max_chars": 10**9},
                             "unique": False}}}}, "datasets": {}}
    client.set(template_key, b"Q\x01j-" + json.dumps(hostile).encode())
    assert run() == first
    client.set(users_key, b"Q\x01j-" + json.dumps([{"id": 1}]).encode())
    assert run() == first
