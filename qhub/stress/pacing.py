"""When each iteration of a stress run starts: back to back, or on a fixed schedule.

Closed model (no ``--rate``): each virtual user starts its next iteration as soon as the
previous one ends. The load adapts to the system under test (a slower server gets fewer
requests), so the latencies describe the requests that were sent; there is no schedule to
fall behind.

Open model (``--rate R``): iterations are due at fixed times, ``R`` per second in total
(after a linear ramp over ``ramp_up`` seconds), and the virtual users are the workers that
take them in order. When every user is busy, the next iteration starts late; that lateness
(the lag) is added to every latency measured in the iteration, so the figures are measured
from when the work was due, not from when a free user got to it. Without it, a stall hides
itself: the requests that should have been sent during the stall never are, and the few
slow ones drown among fast ones (coordinated omission).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from qhub._record import frozen_record

Clock = Callable[[], float]


@frozen_record(slots=False)
class Slot:
    """One iteration handed to a user."""

    due: float
    """When it should start (clock seconds)."""
    lag_ms: float | None
    """How late it starts against its schedule; None in the closed model."""


class Pacer:
    """Hands out iterations to the users until the plan, a deadline or a stop says no more.

    ``iterations`` is per user in the closed model and ``iterations * users`` in total in
    the open one (the same amount of work). ``duration_s`` stops new iterations after that
    many seconds from :meth:`start`.
    """

    def __init__(
        self,
        *,
        users: int,
        iterations: int | None,
        duration_s: float | None,
        rate: float | None,
        ramp_up_s: float,
        clock: Clock,
        wait: Callable[[float], bool],
    ) -> None:
        self.users = users
        self.iterations = iterations
        self.duration_s = duration_s
        self.rate = rate
        self.ramp_up_s = ramp_up_s
        self._clock = clock
        self._wait = wait
        """``wait(seconds) -> stopped``: sleeps, returning early (True) when the run stops."""
        self._lock = threading.Lock()
        self._next_index = 0
        self._done_per_user = [0] * users
        self.started_at = 0.0
        self._closed = threading.Event()

    def start(self, now: float) -> None:
        self.started_at = now

    def close(self) -> None:
        """No more iterations (a deadline or a stop)."""
        self._closed.set()

    def is_closed(self) -> bool:
        return self._closed.is_set()

    @property
    def deadline(self) -> float | None:
        return None if self.duration_s is None else self.started_at + self.duration_s

    def user_start_delay(self, user: int) -> float:
        """Seconds after the start at which ``user`` begins (closed model ramp-up)."""
        if self.rate is not None or self.users <= 1:
            return 0.0
        return self.ramp_up_s * user / self.users

    def due_time(self, index: int) -> float:
        """When open-model iteration ``index`` (0-based) is due, seconds after the start.

        The rate rises linearly from 0 to ``rate`` over the ramp-up: ``rate * t**2 / (2T)``
        iterations are due by time ``t < T``, then ``rate`` more per second.
        """
        assert self.rate is not None
        ramp = self.ramp_up_s
        ramp_count = self.rate * ramp / 2.0
        if ramp > 0 and index < ramp_count:
            return math.sqrt(2.0 * ramp * index / self.rate)
        return ramp / 2.0 + index / self.rate if ramp > 0 else index / self.rate

    def next(self, user: int) -> Slot | None:
        """The next iteration for ``user``, waiting for its due time; None when done."""
        if self.is_closed():
            return None
        if self.rate is None:
            if self.iterations is not None and self._done_per_user[user] >= self.iterations:
                return None
            now = self._clock()
            deadline = self.deadline
            if deadline is not None and now >= deadline:
                return None
            self._done_per_user[user] += 1
            return Slot(now, None)
        with self._lock:
            index = self._next_index
            if self.iterations is not None and index >= self.iterations * self.users:
                return None
            due = self.started_at + self.due_time(index)
            deadline = self.deadline
            if deadline is not None and due >= deadline:
                return None
            self._next_index += 1
        delay = due - self._clock()
        if delay > 0 and self._wait(delay):
            return None
        if self.is_closed():
            return None
        return Slot(due, max(0.0, (self._clock() - due) * 1000.0))

    def scheduled(self, now: float) -> int:
        """Open model: iterations due by ``now`` under the plan (for 'not started' counts)."""
        if self.rate is None:
            return 0
        end = now if self.deadline is None else min(now, self.deadline)
        elapsed = max(0.0, end - self.started_at)
        ramp = self.ramp_up_s
        if ramp > 0 and elapsed < ramp:
            due = self.rate * elapsed * elapsed / (2.0 * ramp)
        else:
            due = self.rate * (elapsed - ramp / 2.0) if ramp > 0 else self.rate * elapsed
        count = math.floor(due + 1e-9) + 1 if elapsed > 0 else 0
        if self.iterations is not None:
            count = min(count, self.iterations * self.users)
        return count

    @property
    def handed_out(self) -> int:
        """Open model: iterations given to users so far."""
        return self._next_index
