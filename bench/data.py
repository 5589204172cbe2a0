"""Test-data benchmark: plain Faker vs. qhub cold (miss) vs. qhub warm (memory, disk, Redis).

Prints time per user record for 100 and 10,000 users, measured side by side in one run,
and the ratios the issue asks for. Caches use qhub's defaults (disk and Redis zlib-compress
values above 1 KiB; the in-process memory backend does not); one extra row shows a memory
hit with compression forced on (``compress_threshold=1024``). Starts its own
redis-server on a free port (skipped when the binary is missing). Takes about a minute.

Both clocks are recorded: CPU time of this process (robust when other jobs share the
machine; ratios use it) and wall time (includes waiting on Redis/SQLite, and noise).

    python bench/data.py
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from _redis import private_redis

from qhub.cache import CacheManager, DiskCacheBackend, MemoryCacheBackend, RedisCacheBackend
from qhub.data import TestData

SEED = 2024
ROLES = ("customer", "customer", "customer", "editor", "admin")


def plain_users(fake: Any, n: int) -> list[dict[str, Any]]:
    """The same user records qhub makes, with direct Faker calls and no cache."""
    fake.seed_instance(SEED)
    seen: dict[str, set[Any]] = {"uuid": set(), "username": set(), "email": set()}

    def unique(field: str, value: Any, i: int) -> Any:
        while value in seen[field]:
            value = f"{value}{i}"
        seen[field].add(value)
        return value

    out = []
    for i in range(n):
        first = fake.first_name()
        last = fake.last_name()
        out.append({
            "id": i + 1,
            "uuid": unique("uuid", fake.uuid4(), i),
            "username": unique("username", fake.user_name(), i),
            "email": unique("email", fake.email(), i),
            "first_name": first,
            "last_name": last,
            "phone": fake.phone_number(),
            "date_of_birth": fake.date_between_dates(date(1950, 1, 1),
                                                     date(2005, 12, 31)).isoformat(),
            "role": fake.random_element(ROLES),
            "is_active": fake.pybool(),
            "created_at": fake.date_time_between_dates(datetime(2020, 1, 1),
                                                       datetime(2025, 12, 31)).isoformat(),
        })
    return out


Timing = tuple[float, float]
"""(wall seconds, CPU seconds of this process)."""


def timed(fn: Callable[[], Any]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def median(samples: list[Timing]) -> Timing:
    return (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))


def cold(manager_factory: Callable[[], CacheManager], n: int) -> Timing:
    """A miss: fresh cache; Faker already created (its one-off start-up is reported apart)."""
    manager = manager_factory()
    data = TestData(manager.namespaced("data"), seed=SEED)
    data.users(1)  # creates the Faker instance, a different key
    seconds = timed(lambda: data.users(n))
    assert data.stats()["misses"] == 2
    manager.close()
    return seconds


def warm(manager: CacheManager, n: int, repeats: int) -> Timing:
    """A hit from a fresh TestData on an already populated cache."""
    data = TestData(manager.namespaced("data"), seed=SEED)
    data.users(n)

    def once() -> Timing:
        fresh = TestData(manager.namespaced("data"), seed=SEED)
        seconds = timed(lambda: fresh.users(n))
        assert fresh.stats()["faker_calls"] == 0
        return seconds

    return median([once() for _ in range(repeats)])


def measure(n: int, redis_url: str | None, workdir: Path) -> dict[str, Timing]:
    from faker import Faker

    fake = Faker("en_US")
    repeats_slow = 5 if n <= 1000 else 3
    repeats_fast = 21 if n <= 1000 else 5
    rows: dict[str, Timing] = {}
    plain: list[Timing] = []
    cold_mem: list[Timing] = []
    cold_disk: list[Timing] = []
    for r in range(repeats_slow):  # interleaved, so machine noise hits each path alike
        plain.append(timed(lambda: plain_users(fake, n)))
        cold_mem.append(cold(lambda: CacheManager(MemoryCacheBackend()), n))
        path = workdir / f"cold-{n}-{r}.db"
        cold_disk.append(cold(lambda path=path: CacheManager(DiskCacheBackend(path)), n))
    rows["plain Faker"] = median(plain)
    rows["qhub cold (miss, memory)"] = median(cold_mem)
    rows["qhub cold (miss, disk)"] = median(cold_disk)
    memory = CacheManager(MemoryCacheBackend())  # default: no zlib in process
    rows["qhub warm: memory hit"] = warm(memory, n, repeats_fast)
    zipped = CacheManager(MemoryCacheBackend(), compress_threshold=1024)
    rows["qhub warm: memory hit, zlib forced on"] = warm(zipped, n, repeats_fast)
    disk_path = workdir / f"warm-{n}.db"
    CacheManager(DiskCacheBackend(disk_path)).close()
    disk = CacheManager(DiskCacheBackend(disk_path))
    rows["qhub warm: disk hit"] = warm(disk, n, repeats_fast)
    disk.close()
    if redis_url:
        redis = CacheManager(RedisCacheBackend(url=redis_url))
        rows["qhub warm: Redis hit"] = warm(redis, n, repeats_fast)
        redis.close()
    return {name: (wall / n * 1e6, cpu / n * 1e6) for name, (wall, cpu) in rows.items()}


def faker_startup() -> float:
    from faker import Faker

    return timed(lambda: Faker("en_US"))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    args = parser.parse_args(argv)
    began = time.perf_counter()
    results: dict[int, dict[str, float]] = {}
    with private_redis() as url, tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            results[n] = measure(n, url, Path(tmp))
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}; Faker start-up {faker_startup() * 1000:.1f} ms "
          "(one-off, not included below)")
    print()
    cols = [f"{n:,} users: CPU µs/rec | wall µs/rec | vs plain (CPU)" for n in args.sizes]
    print("| path | " + " | ".join(cols) + " |")
    print("|---|" + "---|---|---|" * len(args.sizes))
    for name in results[args.sizes[0]]:
        cells = []
        for n in args.sizes:
            wall, cpu = results[n].get(name, (float("nan"), float("nan")))
            plain_cpu = results[n]["plain Faker"][1]
            ratio = (f"{cpu / plain_cpu:.2f}x the time" if "warm" not in name
                     else f"{plain_cpu / cpu:.0f}x faster")
            cells.append(f"{cpu:.2f} | {wall:.2f} | {ratio}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for n in args.sizes:
        r = results[n]
        hit = r["plain Faker"][1] / r["qhub warm: memory hit"][1]
        miss = r["qhub cold (miss, memory)"][1] / r["plain Faker"][1]
        print(f"{n:>6} users (CPU time): warm memory hit {hit:.0f}x faster than plain Faker "
              f"(target >= 50x); cold miss {miss:.2f}x plain Faker's time (target <= 1.1x)")
    print(f"\ntotal bench time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
