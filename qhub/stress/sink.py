"""Every request qhub's API clients send during the load, handed to the measurements.

The sink is a request observer (:func:`qhub.api.observe_requests`, registered by the
engine for the load): it is told, per finished request, its endpoint (``METHOD /route``),
its service time, its status (None: no response) and its exception. Requests are
attributed to the iteration running on the calling thread, whose schedule lag (open model)
is added to the latency.
"""

from __future__ import annotations

import threading
from typing import Protocol


class RequestRecorder(Protocol):
    """Where request samples go (:class:`qhub.stress.measure.Measurements`)."""

    def request(
        self,
        endpoint: str,
        service_ms: float,
        lag_ms: float,
        status: int | None,
        error: BaseException | None,
    ) -> None: ...


class RequestSink:
    """Turns a finished request into a sample for ``recorder``, with the thread's lag."""

    def __init__(self, recorder: RequestRecorder) -> None:
        self._recorder = recorder
        self._local = threading.local()

    def set_lag(self, lag_ms: float) -> None:
        """The schedule lag of the iteration now running on this thread."""
        self._local.lag_ms = lag_ms

    def __call__(
        self, endpoint: str, service_ms: float, status: int | None, error: BaseException | None
    ) -> None:
        lag = getattr(self._local, "lag_ms", 0.0)
        self._recorder.request(endpoint, service_ms, lag, status, error)
