"""Connection warm-up: open up to N connections concurrently before the first step runs.

Each probe is a ``HEAD`` on the warm-up path that keeps its connection checked out until
every probe has answered, so N probes really open N distinct connections (bounded by
``pool_maxsize``); then all go back to the pool for the steps to reuse. A server that is
down makes warm-up report the error in the stats instead of failing the run.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from qhub._redact import redact_text

if TYPE_CHECKING:
    from qhub.api.client import BaseAPIClient, _Generation

log = logging.getLogger("qhub.api")

_MAX_THREADS = 16


def warm_up(
    client: BaseAPIClient, gen: _Generation, connections: int, path: str = "/"
) -> dict[str, Any]:
    """Pre-open connections in ``gen``'s pool of ``client``; report what happened (never
    raises)."""
    maxsize = int(client._pool_settings["pool_maxsize"])
    wanted = max(0, min(connections, maxsize))
    result: dict[str, Any] = {
        "enabled": True, "path": path, "requested": connections, "attempted": wanted,
        "opened": 0, "ok": False, "error": None, "duration_ms": 0.0,
    }
    if client.base_url is None:
        result["error"] = "no base_url"
        return result
    if wanted == 0:
        result["ok"] = True
        return result
    started = time.perf_counter()
    stats = client._stats
    try:
        url = client.url_for(path)
        origin, target = _split(url)
        pool = client.pool_for(gen, origin)
        if pool is None:
            raise RuntimeError(f"{origin} is reached through a proxy; warm-up skipped")
        host = stats.host(f"{pool.scheme}://{pool.host}:{pool.port}")
        before = host.warmup_connections

        def probe(_: int) -> Any:
            stats.in_warmup = True
            try:
                return pool.urlopen(
                    "HEAD", target, headers=client.session.headers, redirect=False,
                    assert_same_host=False, retries=False, preload_content=False,
                    release_conn=False, timeout=client._u3_timeout,
                )
            finally:
                stats.in_warmup = False

        answers: list[Any] = []
        errors: list[str] = []
        with ThreadPoolExecutor(min(wanted, _MAX_THREADS), "qhub-warmup") as pool_exec:
            for future in [pool_exec.submit(probe, i) for i in range(wanted)]:
                try:
                    answers.append(future.result())
                except Exception as exc:  # reported, never fatal
                    errors.append(f"{type(exc).__name__}: {exc}")
        for answer in answers:
            answer.drain_conn()
            answer.release_conn()
        result["opened"] = host.warmup_connections - before
        result["ok"] = not errors
        if errors:
            result["error"] = redact_text(errors[0])
    except Exception as exc:  # warm-up must not fail the run
        result["error"] = redact_text(f"{type(exc).__name__}: {exc}")
    result["duration_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
    if result["error"]:
        log.warning("qhub: API %r warm-up failed: %s", client.name, result["error"])
    return result


def _split(url: str) -> tuple[str, str]:
    """``http://h:1/a?b`` -> (``http://h:1``, ``/a?b``)."""
    scheme, _, rest = url.partition("://")
    slash = rest.find("/")
    if slash < 0:
        return f"{scheme}://{rest}", "/"
    return f"{scheme}://{rest[:slash]}", rest[slash:]
