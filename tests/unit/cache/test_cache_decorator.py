"""``cache_result``: stable keys, source versioning, TTL semantics, dogpile-safe calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from qhub.cache import CacheManager, MemoryCacheBackend, cache_result

MODULE = '''
from qhub.cache import CacheManager, cache_result
cache = CacheManager("memory")

@cache_result(cache, ttl=60)
def users(count, *, role="admin"):
    return [{"id": i, "role": role} for i in range(count)]
'''


def load(tmp_path: Path, source: str, name: str) -> Any:
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestCacheResult:
    """The decorator caches by function identity, source version and arguments."""

    def test_caches_and_normalises_arguments(self, clock: Any) -> None:
        """Same arguments (positional or keyword) hit; different ones miss."""
        cache = CacheManager(MemoryCacheBackend(timer=clock), on_error="fail")
        calls: list[int] = []

        @cache_result(cache, ttl=10)
        def square(x: int, power: int = 2) -> int:
            calls.append(x)
            return int(x**power)

        assert square(3) == 9
        assert square(3, 2) == 9
        assert square(x=3) == 9
        assert square(4) == 16
        assert calls == [3, 4]
        clock.advance(11)
        assert square(3) == 9
        assert calls == [3, 4, 3]

    def test_ttl_zero_never_expires(self, clock: Any) -> None:
        """ttl=0 keeps the result however much time passes."""
        cache = CacheManager(MemoryCacheBackend(timer=clock), default_ttl=5)
        calls: list[int] = []

        @cache_result(cache, ttl=0)
        def f() -> int:
            calls.append(1)
            return 1

        f()
        clock.advance(10**6)
        f()
        assert calls == [1]

    def test_key_stable_across_processes(self, tmp_path: Path) -> None:
        """Two interpreters (different hash seeds) compute the same key."""
        (tmp_path / "stable_mod.py").write_text(MODULE)
        code = "import stable_mod; print(stable_mod.users.cache_key(3, role='x'))"
        keys = {
            subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, check=True, env={"PYTHONHASHSEED": seed, "PATH": ""}
                           ).stdout.strip()
            for seed in ("1", "99")
        }
        assert len(keys) == 1
        key = keys.pop()
        assert key.startswith("fn:stable_mod.users:")

    def test_changed_source_changes_key(self, tmp_path: Path) -> None:
        """Editing the function body gives a new key, so old results are not returned."""
        before = load(tmp_path, MODULE, "mod_a").users.cache_key(2)
        after = load(tmp_path, MODULE.replace("range(count)", "range(count + 1)"), "mod_a")
        assert after.users.cache_key(2) != before
        pinned = cache_result(CacheManager(), version="v1")(lambda: 1)
        assert ":v1:" in pinned.cache_key()  # type: ignore[attr-defined]

    def test_custom_key_and_uncacheable_args(self) -> None:
        """A key callable is used as is; unencodable arguments run uncached."""
        cache = CacheManager(on_error="fail")
        calls: list[object] = []

        @cache_result(cache, key=lambda obj: f"by-id:{id(obj)}")
        def keyed(obj: object) -> str:
            calls.append(obj)
            return "v"

        @cache_result(cache)
        def plain(obj: object) -> str:
            calls.append(obj)
            return "v"

        token = object()
        keyed(token)
        keyed(token)
        plain(token)
        plain(token)
        assert len(calls) == 3
        assert cache.get(f"by-id:{id(token)}") == "v"
