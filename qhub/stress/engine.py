"""The load phase: virtual users in threads, a clock, and an orderly stop.

Threads, not processes. Every virtual user runs in this process, so all of them share what a
normal run shares: the pooled API clients (one pool, sized to the users), the cache, the
test data, the rate limiter and whatever the user's ``before_all`` built; ``before_all`` and
``after_all`` run once. Waiting on the network releases the GIL, so threads overlap their
requests as processes would. What the GIL does cost: Python work in steps (behave's step
matching, JSON parsing, assertions) runs one user at a time, so once this process uses a
whole core, users queue for the interpreter and that queueing is part of the latencies
measured. The run reports the process's CPU use and warns when it was close to one core;
then the figures describe the load generator as much as the server.

Stopping: at the deadline no new iterations start and running ones have ``grace_s`` to
finish; after that (or at once on Ctrl-C/SIGTERM/SIGHUP) no new scenario starts in them
either: scenarios already running finish with their own hooks, so nothing is cut in half. A
second signal stops waiting for the users and reports at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from qhub._record import frozen_record
from qhub.api.observe import observe_requests
from qhub.stress.guard import HostGuard
from qhub.stress.measure import Measurements
from qhub.stress.pacing import Pacer
from qhub.stress.plan import StressPlan
from qhub.stress.progress import ProgressLine
from qhub.stress.sink import RequestSink
from qhub.stress.users import StopControl, VirtualUser

TICK_S = 1.0
SWITCH_INTERVAL_S = 0.0005
"""GIL switch interval during the load (Python's default is 5 ms): a thread holding the GIL
is asked to let go after this long, so a user whose response arrived is not kept waiting
up to 5 ms by another user's Python work. Costs a little throughput; buys honest latency."""
_POLL_S = 0.05
_SIGNALS = tuple(
    sig
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
    if sig is not None
)


@frozen_record(slots=False)
class LoadOutcome:
    """How the load phase went (besides the measurements)."""

    elapsed_s: float
    stop_reason: str
    signal_name: str | None
    abandoned: bool
    cpu_percent: float
    users_started: int
    iterations_due: int
    """Open model: iterations the schedule had due by the end (0 in the closed model)."""
    iterations_handed_out: int


class _Signals:
    """SIGINT/SIGTERM/SIGHUP become stop requests while the load runs (main thread only)."""

    def __init__(self) -> None:
        self.received: list[int] = []

    @contextlib.contextmanager
    def caught(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, Any] = {}
        for sig in _SIGNALS:
            try:
                previous[sig] = signal.signal(sig, self._handler)
            except (OSError, ValueError):
                continue
        try:
            yield
        finally:
            for sig, handler in previous.items():
                with contextlib.suppress(OSError, ValueError, TypeError):
                    signal.signal(sig, handler)

    def _handler(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)


def run_load(
    *,
    plan: StressPlan,
    measurements: Measurements,
    guard: HostGuard,
    sink: RequestSink,
    make_user: Callable[[int, Pacer, StopControl], VirtualUser],
    progress: ProgressLine,
    clock: Callable[[], float] = time.perf_counter,
) -> LoadOutcome:
    """Run the load with ``plan.users`` users until the plan, a deadline or a signal ends it."""
    control = StopControl()
    pacer = Pacer(
        users=plan.users,
        iterations=plan.iterations,
        duration_s=plan.duration_s,
        rate=plan.rate,
        ramp_up_s=plan.ramp_up_s,
        clock=clock,
        wait=control.event.wait,
    )
    users = [make_user(i, pacer, control) for i in range(plan.users)]
    threads = [
        threading.Thread(
            target=user.run_user,
            args=(pacer.user_start_delay(user.index),),
            name=f"qhub-stress-user-{user.index + 1}",
            daemon=True,
        )
        for user in users
    ]
    signals = _Signals()
    switch_interval = sys.getswitchinterval()
    abandoned = False
    drained_at: float | None = None
    cpu0 = time.process_time()
    with signals.caught(), guard.active(), observe_requests(sink):
        # a user whose response has arrived waits for the GIL at most this long
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        t0 = clock()
        pacer.start(t0)
        for thread in threads:
            thread.start()
        next_tick = t0 + TICK_S
        while any(t.is_alive() for t in threads):
            now = clock()
            if signals.received:
                name = signal.Signals(signals.received[0]).name
                if len(signals.received) > 1:
                    abandoned = True
                    control.halt(name)
                    pacer.close()
                    break
                if not control.skipping:
                    control.halt(name)
                    pacer.close()
            deadline = pacer.deadline
            if deadline is not None and now >= deadline and drained_at is None:
                drained_at = now
                control.drain("duration")
            grace_over = drained_at is not None and now >= drained_at + plan.grace_s
            if grace_over and not control.skipping:
                control.halt("duration")
            if now >= next_tick:
                measurements.tick(now - t0)
                note = "stopping" if control.event.is_set() else ""
                progress.update(measurements.snapshot(now - t0), note)
                next_tick += TICK_S * max(1, int((now - next_tick) / TICK_S) + 1)
            time.sleep(_POLL_S)
        end = clock()
        sys.setswitchinterval(switch_interval)
    elapsed = end - t0
    measurements.tick(elapsed)
    progress.update(measurements.snapshot(elapsed), "done")
    progress.close()
    cpu = time.process_time() - cpu0
    if control.reason is None:
        reason = "iterations" if plan.iterations is not None else "duration"
    else:
        reason = control.reason
    signal_name = signal.Signals(signals.received[0]).name if signals.received else None
    return LoadOutcome(
        elapsed_s=elapsed,
        stop_reason=reason,
        signal_name=signal_name,
        abandoned=abandoned,
        cpu_percent=100.0 * cpu / elapsed if elapsed > 0 else 0.0,
        users_started=len(threads),
        iterations_due=pacer.scheduled(end),
        iterations_handed_out=pacer.handed_out,
    )
