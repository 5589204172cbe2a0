"""Fixtures for the test-data tests: real caches (memory, SQLite) and template folders."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qhub.cache import CacheManager, DiskCacheBackend, MemoryCacheBackend


@pytest.fixture
def memory_cache() -> Iterator[CacheManager]:
    """A real in-memory cache manager, namespaced like qhub's test data."""
    root = CacheManager(MemoryCacheBackend(max_size=1000))
    yield root.namespaced("data")
    root.close()


@pytest.fixture
def disk_path(tmp_path: Path) -> Path:
    return tmp_path / "cache.db"


@pytest.fixture
def disk_cache(disk_path: Path) -> Iterator[CacheManager]:
    """A real SQLite-backed cache in this test's folder."""
    root = CacheManager(DiskCacheBackend(disk_path))
    yield root.namespaced("data")
    root.close()


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``templates/<name>`` with dedented text; returns its path."""
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)

    def write(name: str, text: str) -> Path:
        path = folder / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
