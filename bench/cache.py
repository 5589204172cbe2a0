"""Cache overhead, measured side by side with the libraries qhub wraps.

1. Memory: get/set ops/s of ``CacheManager(MemoryCacheBackend(policy))`` vs a bare cachetools
   cache of the same policy holding the same value (and, for context, bare cachetools plus
   the lock and the copy-on-read a shared cache needs).
2. Redis: get/set/get_many latency of ``CacheManager(RedisCacheBackend)`` vs bare redis-py
   calls moving the same bytes. Uses ``REDIS_URL`` if set, else starts its own redis-server
   on a free port.

Run: ``python bench/cache.py`` (about a minute). Prints a Markdown table with ratios.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import cachetools
import orjson
from _redis import private_redis

from qhub.cache import CacheManager, MemoryCacheBackend, RedisCacheBackend

KEYS = [f"user:{i}" for i in range(500)]
VALUES = [{"id": i, "name": f"user{i}", "email": f"u{i}@example.test", "active": True}
          for i in range(500)]
ROUNDS = 11


def interleaved_best(fns: dict[str, Callable[[], None]], ops: int) -> dict[str, float]:
    """Ops/s of each function's fastest of ``ROUNDS`` runs, the functions taking turns
    within each round so a burst of load from other jobs hits all of them alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: ops / seconds for name, seconds in best.items()}


def bare_cache(policy: str) -> cachetools.Cache[str, Any]:
    if policy == "ttl":
        return cachetools.TLRUCache(1000, ttu=lambda _k, _v, now: now + 3600)
    cls = {"lru": cachetools.LRUCache, "lfu": cachetools.LFUCache, "fifo": cachetools.FIFOCache}
    return cls[policy](1000)


def memory_rows() -> list[tuple[str, ...]]:
    rows = []
    pairs = list(zip(KEYS, VALUES, strict=True))
    ops = len(pairs) * 20
    for policy in ("lru", "lfu", "fifo", "ttl"):
        bare = bare_cache(policy)
        locked = bare_cache(policy)
        lock = threading.Lock()
        manager = CacheManager(MemoryCacheBackend(1000, policy), default_ttl=0)

        def bare_set(bare: cachetools.Cache[str, Any] = bare) -> None:
            for _ in range(20):
                for k, v in pairs:
                    bare[k] = v

        def bare_get(bare: cachetools.Cache[str, Any] = bare) -> None:
            for _ in range(20):
                for k in KEYS:
                    bare.get(k)

        def locked_set(c: cachetools.Cache[str, Any] = locked, lock: Any = lock) -> None:
            for _ in range(20):
                for k, v in pairs:
                    data = orjson.dumps(v)
                    with lock:
                        c[k] = data

        def locked_get(c: cachetools.Cache[str, Any] = locked, lock: Any = lock) -> None:
            for _ in range(20):
                for k in KEYS:
                    with lock:
                        data = c.get(k)
                    orjson.loads(data)

        def manager_set(m: CacheManager = manager) -> None:
            for _ in range(20):
                for k, v in pairs:
                    m.set(k, v)

        def manager_get(m: CacheManager = manager) -> None:
            for _ in range(20):
                for k in KEYS:
                    m.get(k)

        fns = {
            "bare_set": bare_set, "locked_set": locked_set, "manager_set": manager_set,
            "bare_get": bare_get, "locked_get": locked_get, "manager_get": manager_get,
        }
        results = interleaved_best(fns, ops)
        assert manager.get(KEYS[0]) == VALUES[0]
        for op in ("get", "set"):
            b, lk, m = results[f"bare_{op}"], results[f"locked_{op}"], results[f"manager_{op}"]
            rows.append((
                policy, op, f"{b:,.0f}", f"{lk:,.0f}", f"{m:,.0f}",
                f"{m / b:.2f}x", f"{m / lk:.2f}x",
            ))
    return rows


@contextmanager
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` if set, else a private redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with private_redis(db=15) as url:
        if url is None:
            sys.exit("redis-server not found and REDIS_URL not set")
        yield url


def latency_us(fn: Callable[[], Any], n: int) -> float:
    """Median of per-call latencies (µs) over ``n`` calls."""
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def redis_rows(url: str) -> list[tuple[str, ...]]:
    import redis

    bare = redis.Redis.from_url(url)
    manager = CacheManager(RedisCacheBackend(url=url), namespace="bench", default_ttl=0)
    bare.flushdb()
    value = VALUES[7]
    data = manager._serializer.dumps(value)  # the exact bytes the manager stores
    batch = KEYS[:50]
    manager.set_many({k: VALUES[i] for i, k in enumerate(batch)})
    bare_batch = [f"bare:{k}" for k in batch]
    bare.mset({k: manager._serializer.dumps(VALUES[i]) for i, k in enumerate(bare_batch)})
    ops = {
        "get": (lambda: bare.get("bare:one"), lambda: manager.get("one")),
        "set": (lambda: bare.set("bare:one", data), lambda: manager.set("one", value)),
        "get_many(50)": (lambda: bare.mget(bare_batch), lambda: manager.get_many(batch)),
    }
    bare.set("bare:one", data)
    manager.set("one", value)
    rows = []
    for name, (bare_fn, manager_fn) in ops.items():
        for _ in range(200):  # warm connections
            bare_fn()
            manager_fn()
        bare_us = []
        manager_us = []
        for _ in range(5):  # interleave so noise hits both alike
            bare_us.append(latency_us(bare_fn, 400))
            manager_us.append(latency_us(manager_fn, 400))
        b, m = statistics.median(bare_us), statistics.median(manager_us)
        rows.append((name, f"{b:.1f}", f"{m:.1f}", f"{m / b:.2f}x"))
    assert manager.get("one") == value
    assert len(manager.get_many(batch)) == 50
    manager.close()
    bare.close()
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    started = time.perf_counter()
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, cachetools {cachetools.__version__}; "
        f"value: 4-field dict ({len(orjson.dumps(VALUES[7]))} B JSON)\n"
    )
    print(f"Memory backend, ops/s (best of {ROUNDS}, interleaved; higher is better)\n")
    print(table(
        ("policy", "op", "bare cachetools", "cachetools+lock+copy", "CacheManager",
         "vs bare", "vs lock+copy"),
        memory_rows(),
    ))
    with redis_url() as url:
        print("\nRedis backend, median latency in µs per call (lower is better)\n")
        print(table(("op", "bare redis-py", "CacheManager", "ratio"), redis_rows(url)))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
