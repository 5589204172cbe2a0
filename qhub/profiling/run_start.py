"""What begins with a run and is read at its end: the start time and the git status check.

Kept apart from :mod:`qhub.profiling.end_of_run` so that starting a run loads none of the
end-of-run code (record types, history, verdict, renderers): that loads on first use, when
the run ends, and a run's start costs only what it needs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from qhub.profiling.provenance import DirtyCheck, start_dirty_check

if TYPE_CHECKING:
    from qhub.config import QHubConfig


class RunStart:
    """What :func:`begin` started (one run at a time per process)."""

    dirty: DirtyCheck | None = None
    started_at: str | None = None


START = RunStart()


def begin(config: QHubConfig) -> None:
    """At the start of a run: note the time and start the (background) git status check,
    whose answer the end of the run collects."""
    START.started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    START.dirty = start_dirty_check(config.root)
