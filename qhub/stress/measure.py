"""What a stress run measures, recorded from many virtual users at once.

Every sample goes into shared HDR histograms (:mod:`qhub.stress.histogram`) under one lock:
nothing is averaged across users, and a percentile is always read from all samples of its
row. Requests are grouped by endpoint (``METHOD /route``), steps by step definition
(``file:line``), scenarios by their location in the feature file.

With a target rate, each sample also carries the lag of its iteration (how late it started
against its schedule); the primary latency is then ``lag + service time`` (what a user who
arrived on schedule waited), and the service time alone is kept beside it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from qhub.stress.histogram import LatencyHistogram

_MESSAGE_CHARS = 300


def error_kind(status: int | None, error: BaseException | None) -> str | None:
    """The kind of a failed request (``HTTP 503``, ``ConnectTimeout``...), None if it is
    not an error. No response (an exception) or a 5xx status is an error."""
    if error is not None:
        return getattr(error, "stress_kind", None) or type(error).__name__
    if status is None:
        return "no response"
    if status >= 500:
        return f"HTTP {status}"
    return None


def first_line(text: object) -> str:
    """The first line of an error message, shortened (redacted by the renderers' caller)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 1] + "…"


@dataclass
class Series:
    """One row: an endpoint, a step definition or a scenario."""

    label: str = ""
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    """Latency as users saw it (from the intended start when a rate is set)."""
    service: LatencyHistogram | None = None
    """Service time alone (only kept when a rate is set)."""
    outcomes: Counter[str] = field(default_factory=Counter)
    """status code / step or scenario status -> count."""
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: dict[str, str] = field(default_factory=dict)

    def add(self, ms: float, lag_ms: float, outcome: str, kind: str | None, message: str) -> None:
        self.latency.record(ms + lag_ms)
        if self.service is not None:
            self.service.record(ms)
        self.outcomes[outcome] += 1
        if kind is not None:
            self.errors[kind] += 1
            if kind not in self.first_errors:
                self.first_errors[kind] = first_line(message) or kind


@dataclass
class TimelinePoint:
    """One interval of the run (normally one second)."""

    t_s: float
    """End of the interval, seconds since the load started."""
    requests: int
    errors: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    users: int
    iterations: int


@dataclass
class Snapshot:
    """Figures for the live progress line."""

    elapsed_s: float
    requests: int
    errors: int
    rate: float
    p95_ms: float
    users: int
    iterations: int


class Measurements:
    """Thread-safe sink for every request, step, scenario and iteration of a stress run."""

    def __init__(self, *, corrected: bool) -> None:
        self.corrected = corrected
        self._lock = threading.Lock()
        self.endpoints: dict[str, Series] = {}
        self.steps: dict[str, Series] = {}
        self.scenarios: dict[str, Series] = {}
        self.all_requests = self._series("all requests")
        self.iterations = self._series("iterations")
        self.lag = LatencyHistogram()
        """How late iterations started against the schedule (rate mode)."""
        self.timeline: list[TimelinePoint] = []
        self.iterations_started = 0
        self.iterations_interrupted = 0
        self.users_active = 0
        self._interval = LatencyHistogram(2)
        self._interval_errors: Counter[str] = Counter()
        self._interval_iterations = 0
        self._last_tick_requests = 0
        self._last_tick_s = 0.0

    def _series(self, label: str) -> Series:
        return Series(label=label, service=LatencyHistogram() if self.corrected else None)

    def _row(self, table: dict[str, Series], key: str, label: str) -> Series:
        row = table.get(key)
        if row is None:
            row = table[key] = self._series(label)
        return row

    # -- recording (any thread) -------------------------------------------------------------
    def request(
        self,
        endpoint: str,
        service_ms: float,
        lag_ms: float,
        status: int | None,
        error: BaseException | None,
    ) -> None:
        kind = error_kind(status, error)
        outcome = str(status) if status is not None else "error"
        message = str(error) if error is not None else (kind or "")
        with self._lock:
            self._row(self.endpoints, endpoint, endpoint).add(
                service_ms, lag_ms, outcome, kind, message
            )
            self.all_requests.add(service_ms, lag_ms, outcome, kind, message)
            self._interval.record(service_ms + lag_ms)
            if kind is not None:
                self._interval_errors[kind] += 1

    def step(
        self, key: str, label: str, *, duration_ms: float, lag_ms: float, status: str, error: str
    ) -> None:
        kind = None if status in ("passed", "skipped", "untested") else status
        with self._lock:
            self._row(self.steps, key, label).add(duration_ms, lag_ms, status, kind, error)

    def scenario(
        self,
        key: str,
        label: str,
        *,
        duration_ms: float,
        lag_ms: float,
        status: str,
        kind: str | None,
        error: str,
    ) -> None:
        with self._lock:
            self._row(self.scenarios, key, label).add(duration_ms, lag_ms, status, kind, error)

    def iteration_started(self, lag_ms: float | None) -> None:
        with self._lock:
            self.iterations_started += 1
            if lag_ms is not None:
                self.lag.record(lag_ms)

    def iteration_ended(self, duration_ms: float, lag_ms: float, interrupted: bool) -> None:
        with self._lock:
            if interrupted:
                self.iterations_interrupted += 1
                return
            self.iterations.add(duration_ms, lag_ms, "completed", None, "")
            self._interval_iterations += 1

    def user_started(self) -> None:
        with self._lock:
            self.users_active += 1

    def user_ended(self) -> None:
        with self._lock:
            self.users_active -= 1

    # -- the clock (the engine's ticker thread) ---------------------------------------------
    def tick(self, elapsed_s: float) -> TimelinePoint:
        """Close the current interval: one point on the timeline."""
        with self._lock:
            interval, self._interval = self._interval, LatencyHistogram(2)
            errors, self._interval_errors = self._interval_errors, Counter()
            iterations, self._interval_iterations = self._interval_iterations, 0
            users = self.users_active
        point = TimelinePoint(
            t_s=round(elapsed_s, 3),
            requests=interval.count,
            errors=dict(errors),
            p50_ms=round(interval.percentile(50), 3),
            p95_ms=round(interval.percentile(95), 3),
            p99_ms=round(interval.percentile(99), 3),
            max_ms=round(interval.max(), 3),
            users=users,
            iterations=iterations,
        )
        with self._lock:
            self.timeline.append(point)
        return point

    def snapshot(self, elapsed_s: float) -> Snapshot:
        """Totals so far and the rate since the previous snapshot."""
        with self._lock:
            requests = self.all_requests.latency.count
            errors = sum(self.all_requests.errors.values())
            p95 = self.all_requests.latency.percentile(95)
            users = self.users_active
            iterations = self.iterations.latency.count
        span = elapsed_s - self._last_tick_s
        rate = (requests - self._last_tick_requests) / span if span > 0 else 0.0
        self._last_tick_requests, self._last_tick_s = requests, elapsed_s
        return Snapshot(elapsed_s, requests, errors, rate, p95, users, iterations)

    def tables(self) -> dict[str, Any]:
        """Copies of the tables, taken under the lock (for freezing the result)."""
        with self._lock:
            return {
                "endpoints": dict(self.endpoints),
                "steps": dict(self.steps),
                "scenarios": dict(self.scenarios),
                "timeline": list(self.timeline),
            }
