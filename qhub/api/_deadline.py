"""A total deadline per request, enforced by one watchdog thread.

urllib3's read timeout bounds each socket read, not the request: a server that trickles a
never-ending chunked body (one byte a second) keeps every read short and the request
alive forever. The transport *arms* a :class:`Watch` for the whole request (connect,
retries and their back-off, headers, body); the connection that sends it registers itself
on the watch (:func:`attach`), and when the deadline passes the watchdog shuts that
connection's socket down, which ends any blocked read at once. A request that meets a
fired watch raises :class:`DeadlineExceeded`, which urllib3 does not retry.

Arming costs a dict insert and a thread-local write; nothing is created per request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

_local = threading.local()


class DeadlineExceeded(Exception):
    """The request's total deadline passed (deliberately not an ``OSError``: urllib3 must
    not retry it)."""


class Watch:
    """The deadline of one request on one thread."""

    __slots__ = ("conn", "deadline", "fired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self.conn: object | None = None

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return float(self.deadline - time.monotonic())

    def fire(self) -> None:
        """Mark the deadline passed and cut the connection the request is using."""
        self.fired = True
        sock = getattr(self.conn, "sock", None)
        if isinstance(sock, socket.socket):
            # the plain socket's shutdown: safe from another thread, also under TLS
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def current() -> Watch | None:
    """The watch of the request running on this thread, if any."""
    return getattr(_local, "watch", None)


def attach(conn: object) -> None:
    """Called by a connection about to send: the current watch will cut this one.

    Raises :class:`DeadlineExceeded` when the watch already fired (a retry after the
    deadline, or a connection that was just cut).
    """
    watch = getattr(_local, "watch", None)
    if watch is not None:
        if watch.fired or watch.deadline <= time.monotonic():
            watch.fired = True
            raise DeadlineExceeded
        watch.conn = conn


def check() -> None:
    """Raise :class:`DeadlineExceeded` when this thread's request is past its deadline."""
    watch = getattr(_local, "watch", None)
    if watch is not None and (watch.fired or watch.deadline <= time.monotonic()):
        watch.fired = True
        raise DeadlineExceeded


def capped(seconds: float) -> float:
    """``seconds`` limited to what is left of this thread's deadline (for sleeps/waits)."""
    watch: Watch | None = getattr(_local, "watch", None)
    if watch is None:
        return seconds
    return max(0.0, min(seconds, watch.remaining()))


class Watchdog:
    """One daemon thread that fires the watches whose deadline passed.

    It wakes every ``tick`` seconds (a tenth of the shortest deadline armed so far, at
    most 0.25 s), so a deadline fires at most one tick late.
    """

    def __init__(self) -> None:
        self._active: dict[Watch, None] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tick = 0.25
        self._wake = threading.Event()

    def arm(self, seconds: float) -> Watch:
        """Start a deadline for the request about to run on this thread."""
        watch = Watch.__new__(Watch)  # what __init__ does, without its frame: hot path
        watch.seconds = seconds
        watch.deadline = time.monotonic() + seconds
        watch.fired = False
        watch.conn = None
        self._active[watch] = None
        _local.watch = watch
        if self._thread is None or seconds / 10 < self._tick:
            self._start(seconds)
        return watch

    def disarm(self, watch: Watch) -> None:
        """The request ended (either way)."""
        self._active.pop(watch, None)
        _local.watch = None

    def _start(self, seconds: float) -> None:
        with self._lock:
            self._tick = max(0.005, min(self._tick, seconds / 10))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qhub-api-deadline", daemon=True
                )
                self._thread.start()
            else:
                self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._tick)
            self._wake.clear()
            now = time.monotonic()
            for watch in self._active.copy():
                if not watch.fired and watch.deadline <= now:
                    watch.fire()


WATCHDOG = Watchdog()
"""The process's one watchdog (its thread starts with the first armed request)."""
