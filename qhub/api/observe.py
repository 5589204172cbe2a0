"""Request observers: the supported way to watch every request qhub's API clients send.

``with observe_requests(callback):`` registers ``callback`` for the block. Every
:meth:`APIClient.request <qhub.api.APIClient.request>` that finishes meanwhile, on any
thread and by either path (the short path or ``requests.Session``), calls it exactly once
with ``(endpoint, service_ms, status, error)``:

- ``endpoint``: :func:`~qhub.api.endpoints.endpoint_key` of the request (``GET /pets/{id}``);
- ``service_ms``: how long the client call took, retries and the client-side rate limiter's
  wait included (what the caller waited);
- ``status``: the response's status code, None when there was no response;
- ``error``: the exception the request raised, else None.

Stress mode measures its load this way; a metrics exporter or a test can do the same.

Why a registry and not a wrapper: the client reads one module-level tuple, replaced
(copy-on-write, under a lock) when an observer comes or goes, so a request takes no lock
and, with no observer registered, pays one truthiness test. An observer that raises never
breaks the request: the request's result or exception stands, and the failure is said once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from qhub._warn import warn

RequestObserver = Callable[[str, float, "int | None", "BaseException | None"], None]
"""``callback(endpoint, service_ms, status, error)``."""

observers: tuple[tuple[RequestObserver], ...] = ()
"""The registrations, oldest first: each a fresh 1-tuple holding its callback, so that
leaving a block removes exactly its own registration (by identity). Read by the client on
every request; replaced, never changed in place."""

_lock = threading.Lock()


@contextlib.contextmanager
def observe_requests(callback: RequestObserver) -> Iterator[None]:
    """Call ``callback`` for every API client request finished inside the block.

    Safe from many threads at once; the same callback registered twice is called twice.
    On leaving the block exactly this registration is removed, whatever else came or went.
    """
    global observers
    registration = (callback,)
    with _lock:
        observers = (*observers, registration)
    try:
        yield
    finally:
        with _lock:
            observers = tuple(r for r in observers if r is not registration)


def notify(
    endpoint: str, service_ms: float, status: int | None, error: BaseException | None
) -> None:
    """Hand one finished request to every registered observer; a failing observer is
    reported once (per observer) and skipped."""
    for (callback,) in observers:
        try:
            callback(endpoint, service_ms, status, error)
        except Exception as exc:
            name = getattr(callback, "__qualname__", None) or type(callback).__name__
            warn(
                f"request observer {name} raised {type(exc).__name__}: {exc}; "
                "ignored (the request is not affected)",
                once=f"api-observer:{name}",
            )


__all__ = ["RequestObserver", "notify", "observe_requests", "observers"]
