"""Progress on stderr for audits that take a while (a terminal only, after one second)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY_S = 1.0


class Progress:
    """One status line, rewritten in place; silent unless enabled and a second has passed."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = False
        self.phase = ""

    def update(self, text: str) -> None:
        self.phase = text
        if not self.enabled or time.monotonic() - self.started < DELAY_S:
            return
        try:
            self.stream.write(f"\rqhub audit: {text}\x1b[K")
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            return
        self.shown = True

    def count(self, what: str, done: int, total: int) -> None:
        if total:
            self.update(f"{what} {done}/{total}")

    def close(self) -> None:
        if self.shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
