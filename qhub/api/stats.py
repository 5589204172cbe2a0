"""Counters the transport updates where urllib3 really opens, reuses and discards connections.

Nothing here is estimated: :mod:`qhub.api._pools` calls :meth:`PoolStats.on_connect`
when a TCP socket is created, :meth:`PoolStats.on_send` when a request goes out on a
connection, and :meth:`PoolStats.on_pool_full` where urllib3 logs "Connection pool is full,
discarding connection".
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from qhub._figures import percent


@dataclass
class HostCounters:
    """What happened on the connections to one ``scheme://host:port``."""

    key: str
    connections_created: int = 0
    connections_reused: int = 0
    requests_sent: int = 0
    pool_full_events: int = 0
    warmup_connections: int = 0
    pool_ref: weakref.ref[Any] | None = field(default=None, repr=False)

    def pool_detail(self) -> dict[str, Any]:
        """Current size of the live urllib3 pool for this host (idle, maxsize, block)."""
        pool = self.pool_ref() if self.pool_ref is not None else None
        queue = getattr(pool, "pool", None)
        if pool is None or queue is None:
            return {"idle_connections": 0, "maxsize": None, "block": None, "open": False}
        idle = sum(1 for conn in list(queue.queue) if conn is not None and conn.sock is not None)
        return {"idle_connections": idle, "maxsize": queue.maxsize, "block": pool.block,
                "open": True}


class PoolStats:
    """Thread-safe connection counters of one client, kept across pool rebuilds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, HostCounters] = {}
        self._local = threading.local()
        self._warming = 0  # threads inside warm-up now: skips the thread-local look-up

    def host(self, key: str) -> HostCounters:
        """The counters of ``key`` (``scheme://host:port``), created on first use."""
        with self._lock:
            counters = self._hosts.get(key)
            if counters is None:
                counters = self._hosts[key] = HostCounters(key)
            return counters

    @property
    def in_warmup(self) -> bool:
        """True on a thread that is running warm-up (its sends are not user requests)."""
        return bool(getattr(self._local, "warmup", False))

    @in_warmup.setter
    def in_warmup(self, value: bool) -> None:
        value = bool(value)
        with self._lock:
            if value != self.in_warmup:
                self._warming += 1 if value else -1
            self._local.warmup = value

    def on_connect(self, host: HostCounters) -> None:
        """A TCP connection to ``host`` was just opened."""
        warm = self._warming > 0 and self.in_warmup
        with self._lock:
            host.connections_created += 1
            if warm:
                host.warmup_connections += 1

    def on_send(self, host: HostCounters, reused: bool) -> None:
        """A request went out to ``host``, on a kept-alive connection when ``reused``."""
        if self._warming and self.in_warmup:
            return
        with self._lock:
            host.requests_sent += 1
            if reused:
                host.connections_reused += 1

    def on_pool_full(self, host: HostCounters) -> None:
        """urllib3 found the pool full and discarded a connection."""
        with self._lock:
            host.pool_full_events += 1

    def totals(self) -> dict[str, Any]:
        """Counters summed over hosts, plus the per-host detail."""
        with self._lock:
            hosts = [
                (h.key, h.connections_created, h.connections_reused, h.requests_sent,
                 h.pool_full_events, h.warmup_connections, h)
                for h in self._hosts.values()
            ]
        detail: dict[str, Any] = {}
        created = reused = sent = full = 0
        for key, c, r, s, f, w, counters in hosts:
            created, reused, sent, full = created + c, reused + r, sent + s, full + f
            detail[key] = {
                "connections_created": c,
                "connections_reused": r,
                "requests_sent": s,
                "hit_rate_percent": percent(r, s),
                "pool_full_events": f,
                "warmup_connections": w,
                **counters.pool_detail(),
            }
        return {
            "connections_created": created,
            "connections_reused": reused,
            "requests_sent": sent,
            "hit_rate_percent": percent(reused, sent),
            "pool_full_events": full,
            "hosts": detail,
        }
