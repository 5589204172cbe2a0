"""The live progress line of a stress run (stderr, on a terminal only).

``  12 s  8/8 users  1,234 requests  101.3/s  0 errors  p95 23.4 ms`` rewritten in place
once a second; the p95 is over every request so far (from the run's histogram).
"""

from __future__ import annotations

import contextlib
from typing import TextIO

from qhub.stress.measure import Snapshot


class ProgressLine:
    """Rewrites one line on ``stream``; does nothing when ``enabled`` is false."""

    def __init__(self, stream: TextIO, *, enabled: bool, users: int) -> None:
        self._stream = stream
        self.enabled = enabled
        self._users = users
        self._width = 0

    def update(self, snap: Snapshot, note: str = "") -> None:
        if not self.enabled:
            return
        text = format_progress(snap, self._users, note)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        with contextlib.suppress(OSError, ValueError):
            self._stream.write("\r" + text + " " * pad)
            self._stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            with contextlib.suppress(OSError, ValueError):
                self._stream.write("\n")
                self._stream.flush()
            self._width = 0


def format_progress(snap: Snapshot, users: int, note: str = "") -> str:
    line = (
        f"qhub stress {snap.elapsed_s:6.1f} s  {snap.users}/{users} users  "
        f"{snap.requests:,} requests  {snap.rate:,.1f}/s  {snap.errors:,} errors  "
        f"p95 {snap.p95_ms:,.1f} ms"
    )
    return f"{line}  {note}" if note else line
