"""FailoverBackend: the one place backend failures are handled, for every operation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from qhub.cache import CacheManager, MemoryCacheBackend
from qhub.cache.backends import backend_class, init_backend
from qhub.cache.failover import FailoverBackend
from qhub.config.schema import CACHE_BACKENDS
from qhub.exceptions import CacheBackendError


class Switchable(MemoryCacheBackend):
    """A memory backend that can be made to fail, as a dead server would (unit level; the
    real Redis and disk outages are in tests/integration and tests/reliability)."""

    name = "switchable"

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if (name in OPERATIONS or name == "lock") and super().__getattribute__("down"):
            super().__getattribute__("calls").append(name)

            def failing(*args: Any, **kwargs: Any) -> Any:
                raise CacheBackendError(f"{name}: server gone")

            return failing
        return attr


OPERATIONS = {
    "get": ("k",), "get_entry": ("k",), "set": ("k", b"v", None), "get_many": (["k"],),
    "set_many": ({"k": b"v"}, None), "delete": ("k",), "delete_if": ("k", b"v"),
    "keys": ("*",), "delete_pattern": ("*",), "clear": ("",), "count": ("",),
    "bytes_stored": ("",), "ping": (),
}


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op != "ping"])
def test_every_operation_fails_over(operation: str, capfd: pytest.CaptureFixture[str]) -> None:
    """Whatever the first failing call is, it is answered by the fallback, with one warning."""
    primary = Switchable()
    store = FailoverBackend(primary)
    primary.down = True
    getattr(store, operation)(*OPERATIONS[operation])
    assert store.degraded and store.errors == 1 and store.outages == 1
    assert primary.calls == [operation]
    assert capfd.readouterr().err.count("backend failed") == 1


def test_lock_fails_over_when_entered() -> None:
    """A lock whose acquisition fails (Redis) is taken on the fallback instead."""
    primary = Switchable()
    store = FailoverBackend(primary)
    primary.down = True
    with store.lock("k", 1.0) as acquired:
        assert acquired is True
    assert store.degraded


def test_fail_mode_raises_and_counts() -> None:
    primary = Switchable()
    store = FailoverBackend(primary, fail=True)
    primary.down = True
    with pytest.raises(CacheBackendError):
        store.get("k")
    assert store.errors == 1 and not store.degraded


def test_reconnect_replays_then_switches_back() -> None:
    """After reconnect_interval the primary is pinged; the journal is replayed on it."""
    now = [0.0]
    primary = Switchable()
    store = FailoverBackend(primary, reconnect_interval=5, clock=lambda: now[0])
    primary.set("gone", b"old", None)
    primary.down = True
    store.set("k", b"v", None)
    store.delete("gone")
    primary.down = False
    now[0] = 4
    assert store.get("k") == b"v" and store.degraded  # not time yet
    now[0] = 6
    store.get("k")
    assert not store.degraded and store.reconnects == 1
    assert primary.get("k") == b"v" and primary.get("gone") is None


def test_flush_is_bounded_by_its_deadline() -> None:
    """A write-back that runs out of time keeps what it owes and says how much."""
    primary = Switchable()
    store = FailoverBackend(primary, flush_timeout=0.0)
    primary.down = True
    for i in range(50):
        store.set(f"k{i}", b"v", None)
    primary.down = False
    original = primary.set

    def slow_set(*args: Any) -> None:
        time.sleep(0.01)
        original(*args)

    primary.set = slow_set  # type: ignore[method-assign]
    assert store.flush(timeout=0.02) > 0
    assert store.degraded
    primary.set = original  # type: ignore[method-assign]
    assert store.flush(timeout=10) == 0 and not store.degraded
    assert all(primary.get(f"k{i}") == b"v" for i in range(50))


def test_views_share_the_store_and_count_their_own_stats() -> None:
    """A namespaced view is a CacheManager built by the constructor on the same store."""
    cache = CacheManager(MemoryCacheBackend(), namespace="root")
    view = cache.namespaced("data")
    assert type(view) is CacheManager and view.namespace == "root:data"
    assert cache.namespaced("data") is view
    view.set("k", 1)
    assert cache.get("data:k") == 1
    assert view.stats()["sets"] == 1 and cache.stats()["sets"] == 1
    assert view.backend is cache.backend


@pytest.mark.parametrize("name", CACHE_BACKENDS)
def test_registry_resolves_every_configured_name(name: str) -> None:
    """Each name the config schema accepts is a backend class of that name with from_config."""
    cls = backend_class(name)
    assert cls.name == name and callable(cls.from_config)


def test_registry_refuses_unknown_names() -> None:
    from qhub.exceptions import ConfigError

    with pytest.raises(ConfigError, match="memory, disk, redis, layered"):
        init_backend("mongodb")


def test_values_evicted_from_a_full_fallback_are_reported(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """An outage that writes more than the fallback holds: the write-back says how many
    values were lost instead of dropping them without a word."""
    primary = Switchable()
    store = FailoverBackend(primary, fallback_size=10)
    primary.down = True
    for i in range(25):
        store.set(f"k{i}", b"v", None)
    primary.down = False
    assert store.flush() == 0
    err = capfd.readouterr().err
    assert "15 value(s) written while" in err and "are lost" in err
    assert primary.get("k24") == b"v"
