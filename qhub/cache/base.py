"""The small storage interface every cache backend implements.

A backend stores opaque bytes (already serialized by :class:`qhub.cache.CacheManager`) under
full string keys, with an optional time-to-live in seconds. Namespaces, statistics, fallback
and value encoding belong to the manager, not here. Backend failures are raised as
:class:`qhub.exceptions.CacheBackendError`; the manager decides whether to fall back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from qhub.cache.patterns import glob_escape

if TYPE_CHECKING:
    from qhub.config import QHubConfig

B = TypeVar("B", bound="CacheBackend")

Listener = Callable[[str, str], None]
"""Called as ``listener(kind, key)`` with kind ``"eviction"`` or ``"expiration"``."""

Entry = tuple[bytes, "float | None"]
"""Stored bytes and the seconds they have left (``None``: no expiry)."""


class CacheBackend(ABC):
    """Dict-like storage of bytes with per-item TTL, glob deletion and a dogpile lock."""

    name: str = "base"
    """Short name shown in stats (``memory``, ``disk``, ``redis``, ``layered``)."""
    compresses: bool = True
    """Whether the manager zlib-compresses large payloads for this store by default
    (``compress_threshold="auto"``). In-process stores set False: they only pay for it."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    # -- required -------------------------------------------------------------------------
    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """Bytes stored under ``key``, or ``None`` when missing or expired."""

    @abstractmethod
    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        """Store ``data``; ``ttl`` seconds to live, ``None`` for no expiry."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove ``key``; True when something was removed."""

    @abstractmethod
    def keys(self, pattern: str = "*") -> Iterator[str]:
        """Live keys matching a Redis-style glob ``pattern``."""

    @abstractmethod
    def delete_pattern(self, pattern: str) -> int:
        """Remove every key matching a Redis-style glob; returns how many were removed.

        Patterns are checked with :func:`qhub.cache.patterns.compile_glob` first: an invalid
        one raises :class:`qhub.exceptions.PatternError` and removes nothing.
        """

    @abstractmethod
    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        """Exclusive lock for ``key`` across every user of this store.

        Waits at most ``timeout`` seconds; the context value says whether the lock was taken.
        A holder that dies releases it (or it lapses after ``timeout``).
        """

    # -- with defaults --------------------------------------------------------------------
    @classmethod
    def from_config(cls: type[B], config: QHubConfig, **options: Any) -> B:
        """This backend as ``config`` describes it; ``options`` override single arguments."""
        return cls(**options)

    def delete_if(self, key: str, data: bytes) -> bool:
        """Remove ``key`` only while it still holds ``data`` (a damaged value nobody replaced).

        Backends that can compare and delete atomically override this.
        """
        if self.get(key) != data:
            return False
        return self.delete(key)

    def get_entry(self, key: str) -> Entry | None:
        """Bytes and remaining TTL, for layered caches that copy values to a front store."""
        data = self.get(key)
        return None if data is None else (data, None)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Stored bytes of the given keys that exist."""
        found: dict[str, bytes] = {}
        for key in keys:
            data = self.get(key)
            if data is not None:
                found[key] = data
        return found

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        """Store several values with the same TTL."""
        for key, data in items.items():
            self.set(key, data, ttl)

    def clear(self, prefix: str = "") -> int:
        """Remove every key starting with ``prefix`` (everything when empty)."""
        return self.delete_pattern(glob_escape(prefix) + "*")

    def count(self, prefix: str = "") -> int:
        """Number of live keys starting with ``prefix``."""
        return sum(1 for _ in self.keys(glob_escape(prefix) + "*"))

    def bytes_stored(self, prefix: str = "") -> int | None:
        """Bytes held by keys starting with ``prefix``, or ``None`` when unknown."""
        return None

    def ping(self) -> None:
        """Raise :class:`CacheBackendError` when the store cannot be reached."""
        return None

    def close(self) -> None:
        """Release connections and files."""
        return None

    def add_listener(self, listener: Listener) -> None:
        """Be told about evictions and expirations the backend notices."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, kind: str, key: str) -> None:
        for listener in self._listeners:
            listener(kind, key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
