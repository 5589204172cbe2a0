"""urllib3 pool and connection classes that count connections and honour the deadline.

Counting happens where urllib3 does the work, not by guessing from request counts:

- ``_new_conn`` of the *connection* creates the TCP socket (for HTTP and HTTPS alike, and
  again when urllib3 transparently reconnects a dropped keep-alive connection);
- ``request`` of the connection sends a request; it was reused when the socket already
  carried a request before;
- the pool's queue refuses a returned connection exactly where urllib3 then logs
  "Connection pool is full, discarding connection".

The same two places enforce the request's total deadline (:mod:`qhub.api._deadline`): a
connection registers itself on the current request's watch before it sends, and a pool
with ``pool_block`` waits for a free connection at most until the deadline (urllib3 would
wait forever).
"""

from __future__ import annotations

import queue
import socket
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter
from urllib3._collections import RecentlyUsedContainer
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from qhub.api import _deadline
from qhub.api.stats import HostCounters, PoolStats

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection, BaseHTTPSConnection


class _CountingQueue(queue.LifoQueue):  # type: ignore[type-arg]
    """The pool's idle-connection queue; reports a refused ``put`` (pool full)."""

    on_full: Callable[[], None] | None = None
    default_wait: float = 300.0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        try:
            super().put(item, block, timeout)
        except queue.Full:
            if self.on_full is not None:
                self.on_full()
            raise


class _BoundedWaitQueue(_CountingQueue):
    """The queue of a ``pool_block`` pool: waiting for a free connection ends at the
    request's deadline (urllib3 alone would wait for ever)."""

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if block and timeout is None:
            timeout = _deadline.capped(self.default_wait)
        return super().get(block, timeout)


class _CountingMixin:
    """Reports socket creation and request reuse of the urllib3 connection it is mixed into."""

    qhub_stats: PoolStats | None = None
    qhub_host: HostCounters | None = None
    _qhub_uses = 0

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        self._qhub_uses = 0
        if self.qhub_stats is not None and self.qhub_host is not None:
            self.qhub_stats.on_connect(self.qhub_host)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _deadline.attach(self)
        reused = self._qhub_uses > 0 and getattr(self, "sock", None) is not None
        super().request(*args, **kwargs)  # type: ignore[misc]
        self._qhub_uses += 1
        if self.qhub_stats is not None and self.qhub_host is not None:
            self.qhub_stats.on_send(self.qhub_host, reused)


class _CountingHTTPConnection(_CountingMixin, HTTPConnection):
    """HTTPConnection that reports socket creation and request reuse."""


class _CountingHTTPSConnection(_CountingMixin, HTTPSConnection):
    """HTTPSConnection that reports socket creation and request reuse."""


def _attach(
    pool: HTTPConnectionPool, stats: PoolStats, host: HostCounters, wait_limit: float
) -> None:
    """Wire a freshly built pool to its host counters and its wait limit."""
    pool.qhub_stats = stats  # type: ignore[attr-defined]
    pool.qhub_host = host  # type: ignore[attr-defined]
    host.pool_ref = weakref.ref(pool)
    idle = pool.pool
    if isinstance(idle, _CountingQueue):
        idle.on_full = lambda: stats.on_pool_full(host)
        idle.default_wait = wait_limit


class _CountingHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CountingHTTPConnection
    QueueCls = _CountingQueue

    def _new_conn(self) -> BaseHTTPConnection:
        conn = super()._new_conn()
        conn.qhub_stats = getattr(self, "qhub_stats", None)  # type: ignore[attr-defined]
        conn.qhub_host = getattr(self, "qhub_host", None)  # type: ignore[attr-defined]
        return conn


class _CountingHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CountingHTTPSConnection
    QueueCls = _CountingQueue

    def _new_conn(self) -> BaseHTTPSConnection:
        conn = super()._new_conn()
        conn.qhub_stats = getattr(self, "qhub_stats", None)  # type: ignore[attr-defined]
        conn.qhub_host = getattr(self, "qhub_host", None)  # type: ignore[attr-defined]
        return conn


class _BlockingHTTPPool(_CountingHTTPPool):
    QueueCls = _BoundedWaitQueue


class _BlockingHTTPSPool(_CountingHTTPSPool):
    QueueCls = _BoundedWaitQueue


def _close_pool(pool: HTTPConnectionPool) -> None:
    pool.close()


class CountingPoolManager(PoolManager):
    """PoolManager whose pools count connections into one :class:`PoolStats`."""

    def __init__(
        self, *args: Any, qhub_stats: PoolStats, wait_limit: float = 300.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.qhub_stats = qhub_stats
        self.wait_limit = wait_limit
        self.pool_classes_by_scheme = (
            {"http": _BlockingHTTPPool, "https": _BlockingHTTPSPool}
            if self.connection_pool_kw.get("block")
            else {"http": _CountingHTTPPool, "https": _CountingHTTPSPool}
        )
        # urllib3 2 neither closes evicted pools nor pools dropped by clear(): their idle
        # sockets stay open until garbage collection. Close them at once instead.
        self.pools = RecentlyUsedContainer(self.pools._maxsize, dispose_func=_close_pool)

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        counters = self.qhub_stats.host(f"{scheme}://{host}:{port}")
        _attach(pool, self.qhub_stats, counters, self.wait_limit)
        return pool


class CountingAdapter(HTTPAdapter):
    """requests HTTPAdapter on a :class:`CountingPoolManager`.

    ``pool_connections``, ``pool_maxsize`` and ``pool_block`` mean exactly what they mean
    for :class:`requests.adapters.HTTPAdapter` (they are handed to urllib3 unchanged);
    ``wait_limit`` bounds a ``pool_block`` wait when no request deadline is armed.
    """

    def __init__(self, stats: PoolStats, *, wait_limit: float = 300.0, **kwargs: Any) -> None:
        self.qhub_stats = stats
        self.wait_limit = wait_limit
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = CountingPoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            qhub_stats=self.qhub_stats,
            wait_limit=self.wait_limit,
            **pool_kwargs,
        )
