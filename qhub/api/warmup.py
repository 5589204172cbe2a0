"""Connection warm-up: open up to N connections concurrently before they are needed.

Each probe is a ``HEAD`` on the warm-up path that keeps its connection checked out until
every probe has answered, so N probes really open N distinct connections (bounded by
``pool_maxsize``); then all go back to the pool for the steps to reuse. A server that is
down makes warm-up report the error in the stats instead of failing the run.

Only the transport's public surface is used (:class:`WarmupTarget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from qhub._redact import redact_text

_MAX_THREADS = 16


class WarmupTarget(Protocol):
    """What warm-up needs from a transport."""

    def pool_settings(self) -> dict[str, Any]: ...

    def probe(self, url: str) -> Callable[[], None]: ...

    def host_stats(self, url: str) -> dict[str, Any]: ...


def warm_up(target: WarmupTarget, url: str | None, connections: int) -> dict[str, Any]:
    """Pre-open up to ``connections`` connections to ``url``'s host; report what happened
    (never raises). ``url`` None means there is no base URL to warm up."""
    maxsize = int(target.pool_settings()["pool_maxsize"])
    wanted = max(0, min(connections, maxsize))
    result: dict[str, Any] = {
        "enabled": True, "url": None, "requested": connections, "attempted": wanted,
        "opened": 0, "ok": False, "error": None, "duration_ms": 0.0,
    }
    if url is None:
        result["error"] = "no base_url"
        return result
    result["url"] = redact_text(url)
    if wanted == 0:
        result["ok"] = True
        return result
    started = time.perf_counter()
    try:
        before = target.host_stats(url)["warmup_connections"]
        releases: list[Callable[[], None]] = []
        errors: list[str] = []
        with ThreadPoolExecutor(min(wanted, _MAX_THREADS), "qhub-warmup") as pool:
            for future in [pool.submit(target.probe, url) for _ in range(wanted)]:
                try:
                    releases.append(future.result())
                except Exception as exc:  # reported, never fatal
                    errors.append(f"{type(exc).__name__}: {exc}")
        for release in releases:
            release()
        result["opened"] = target.host_stats(url)["warmup_connections"] - before
        result["ok"] = not errors
        if errors:
            result["error"] = redact_text(errors[0])
    except Exception as exc:  # warm-up must not fail the run
        result["error"] = redact_text(f"{type(exc).__name__}: {exc}")
    result["duration_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
    return result
