"""SIGTERM and SIGHUP end a run the way Ctrl-C does: recorded, reported, then gone.

CI systems cancel a job with SIGTERM (then SIGKILL after a grace period); a closed
terminal sends SIGHUP. By default either kills Python at once, so the run was never
recorded and no report was written. While a run is going, qhub turns them into behave's
own abort path (a ``KeyboardInterrupt``, which behave handles like Ctrl-C: the run stops,
``after_all`` runs, qhub records the run as ended by that signal and writes its reports).
At exit the signal's default action is restored and the signal raised again, so the
process still ends "killed by SIGTERM" for whoever sent it.

Only signals whose handler is the default are taken: a handler the user installed is
left alone. Signals can only be handled in the main thread; elsewhere nothing changes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any, Protocol

_SIGNALS = tuple(
    sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig
)


class _Session(Protocol):
    observer: Any


def catch_termination(session: _Session, runner: Any) -> None:
    """Handle SIGTERM/SIGHUP for this run (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        return
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if received:
            return  # already stopping: let the reports finish (SIGKILL is the hard stop)
        received.append(signum)
        how = signal.Signals(signum).name.lower()
        observer = session.observer
        if observer is not None:
            with contextlib.suppress(Exception):
                observer.mark_interrupted(how)
        with contextlib.suppress(Exception):
            runner.aborted = True
        raise KeyboardInterrupt(f"qhub: run stopped by {signal.Signals(signum).name}")

    taken = []
    for sig in _SIGNALS:
        try:
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, handler)
                taken.append(sig)
        except (OSError, ValueError):
            continue

    def reraise() -> None:
        for sig in taken:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        if received:
            os.kill(os.getpid(), received[0])

    if taken:
        atexit.register(reraise)
