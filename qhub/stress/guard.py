"""Load goes only to the configured API hosts.

A stress run multiplies every request a scenario makes. A step that calls a hard-coded
production URL, or a base URL left pointing at a shared environment, must not receive that
load. While the load runs, every HTTP request made through urllib3 (which qhub's client,
``requests`` and urllib3 users share) and every ``http.client`` connection is checked
against the allowed hosts: the hosts of ``api.base_url`` and ``apis.<name>.base_url``, plus
``stress.allowed_hosts``. Anything else is refused before a byte is sent
(:class:`qhub.exceptions.StressTargetError`), counted as a ``refused host`` error, and
named once on stderr. Host names are compared as written (no DNS lookups): ``localhost``
and ``127.0.0.1`` are different hosts unless both are allowed.

Clients built on other stacks (``httpx``, ``aiohttp``, raw sockets) are not seen.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from qhub._warn import warn
from qhub.exceptions import StressError, StressTargetError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATCH_LOCK = threading.Lock()


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def parse_host(text: str) -> tuple[str, int | None]:
    """``https://api.example.com:8443/v1`` or ``api.example.com:8443`` or ``host`` ->
    ``(host, port)``; port None means any port of that host."""
    raw = text.strip()
    if not raw:
        raise StressError("an empty host name is not an allowed stress target")
    parts = urlsplit(raw if "://" in raw else f"//{raw}")
    if not parts.hostname:
        raise StressError(f"{text!r} is not a host name or URL")
    try:
        port = parts.port
    except ValueError:
        raise StressError(f"{text!r} has an invalid port") from None
    if port is None and "://" in raw:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    return _norm_host(parts.hostname), port


class HostGuard:
    """The allowed ``(host, port)`` pairs and the check made before each request."""

    def __init__(self, base_urls: Iterable[str], extra_hosts: Iterable[str] = ()) -> None:
        self.allowed: set[tuple[str, int | None]] = set()
        for url in base_urls:
            self.allowed.add(parse_host(url))
        for host in extra_hosts:
            self.allowed.add(parse_host(host))
        self.refused = 0

    def describe(self) -> str:
        return ", ".join(sorted(f"{h}:{p}" if p is not None else f"{h}:*" for h, p in self.allowed))

    def allows(self, host: str, port: int | None, scheme: str = "http") -> bool:
        name = _norm_host(host)
        effective = port if port is not None else _DEFAULT_PORTS.get(scheme, 80)
        return (name, effective) in self.allowed or (name, None) in self.allowed

    def check(self, host: str, port: int | None, scheme: str = "http") -> None:
        """Raise :class:`StressTargetError` unless ``host:port`` is allowed."""
        if self.allows(host, port, scheme):
            return
        self.refused += 1
        where = f"{_norm_host(host)}:{port if port is not None else _DEFAULT_PORTS.get(scheme)}"
        message = (
            f"qhub stress refused a request to {where}: not a configured API host "
            f"(allowed: {self.describe()}; add hosts with stress.allowed_hosts)"
        )
        warn(message, once=f"stress-refused:{where}")
        raise StressTargetError(message)

    @contextlib.contextmanager
    def active(self) -> Iterator[HostGuard]:
        """Check every urllib3 request and ``http.client`` connection while inside."""
        import http.client

        from urllib3 import connectionpool

        guard = self
        pool_cls: Any = connectionpool.HTTPConnectionPool
        conn_cls: Any = http.client.HTTPConnection
        with _PATCH_LOCK:
            original_urlopen = pool_cls.urlopen
            original_connect = conn_cls.connect

            def urlopen(pool: Any, *args: Any, **kwargs: Any) -> Any:
                guard.check(str(pool.host), pool.port, str(pool.scheme))
                return original_urlopen(pool, *args, **kwargs)

            def connect(conn: Any) -> Any:
                scheme = "https" if isinstance(conn, http.client.HTTPSConnection) else "http"
                guard.check(str(conn.host), conn.port, scheme)
                return original_connect(conn)

            pool_cls.urlopen = urlopen
            conn_cls.connect = connect
        try:
            yield self
        finally:
            with _PATCH_LOCK:
                pool_cls.urlopen = original_urlopen
                conn_cls.connect = original_connect
