"""``qhub doctor``: one line per check, OK or FAIL with the fix."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qhub._record import frozen_record
from qhub._redact import redact_url
from qhub.cli._common import config_from_args, positive_seconds
from qhub.config import QHubConfig
from qhub.exceptions import QHubError

MIN_PYTHON = (3, 10)
MIN_BEHAVE = (1, 2, 6)


@frozen_record(slots=False)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        status = "OK  " if self.ok else "FAIL"
        text = f"{status} {self.name:<16} {self.detail}"
        return text if self.ok or not self.fix else f"{text} -> fix: {self.fix}"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "doctor",
        help="check config, APIs, Redis, writable folders and versions",
        description="Check that qhub can run here: one line per check, with the fix.",
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=3.0, help="seconds per network check"
    )
    parser.set_defaults(func=run)


def _versions() -> Iterator[Check]:
    py = sys.version_info[:3]
    yield Check(
        "python",
        py >= MIN_PYTHON,
        ".".join(map(str, py)),
        f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer",
    )
    try:
        from importlib.metadata import version

        raw = version("behave")
        parts = tuple(int(p) for p in raw.split(".")[:3] if p.isdigit())
        yield Check("behave", parts >= MIN_BEHAVE, raw, "pip install 'behave>=1.2.6'")
    except Exception as exc:
        yield Check("behave", False, f"not importable ({exc})", "pip install behave")


def _writable(name: str, folder: Path) -> Check:
    """Whether qhub could write in ``folder``, found without creating anything: the folder,
    or the nearest existing folder above it (where qhub would create it)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check(name, False, f"{existing} is not a folder", "point it at a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check(name, False, f"{existing} is not writable", "point it at a writable folder")
    if existing == folder:
        return Check(name, True, f"{folder} is writable")
    return Check(name, True, f"{folder} can be created (in {existing})")


def _unprefixed(cfg: QHubConfig) -> Check:
    named = cfg.unprefixed_summary()
    if not named:
        return Check("environment", True, "no settings from unprefixed variables")
    return Check(
        "environment",
        True,
        f"settings from unprefixed variables (another tool's?): {named};"
        " QHUB_<same name> overrides each",
    )


def _api_checks(cfg: QHubConfig, timeout: float) -> Iterator[Check]:
    apis = {"api": cfg.api} if cfg.api.base_url else {}
    apis.update({f"apis.{n}": s for n, s in cfg.apis.items()})
    if not apis:
        yield Check("api", True, "no api.base_url configured (nothing to check)")
        return
    import requests

    for label, settings in apis.items():
        base = (settings.base_url or "").rstrip("/")
        url = base + "/" + settings.warmup_path.lstrip("/")
        verify: bool | str = settings.verify
        if settings.verify and settings.ca_bundle:
            verify = str(cfg.path(settings.ca_bundle))
        try:
            response = requests.head(url, timeout=(timeout, timeout), verify=verify)
            yield Check(
                label,
                response.status_code < 500,
                f"{redact_url(url)} answered {response.status_code}",
                "the API answers with a server error",
            )
        except requests.RequestException as exc:
            reason = type(exc).__name__
            yield Check(
                label,
                False,
                f"{redact_url(url)} did not answer ({reason})",
                f"start the API or fix {label}.base_url",
            )


def _redis_check(cfg: QHubConfig, timeout: float) -> Check:
    import redis

    settings = cfg.redis
    where = (
        redact_url(settings.url)
        if settings.url
        else (f"{settings.host}:{settings.port}/{settings.db}")
    )
    try:
        if settings.url:
            client = redis.Redis.from_url(
                settings.url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        else:
            client = redis.Redis(
                host=settings.host,
                port=settings.port,
                db=settings.db,
                password=settings.password,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
        client.ping()
        memory = client.info("memory")
        used, limit = int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0))
        client.close()
    except redis.RedisError as exc:
        return Check(
            "redis",
            False,
            f"{where}: {exc}",
            "start redis-server or set QHUB_REDIS_URL; qhub falls back to memory",
        )
    if limit and used > 0.9 * limit:
        return Check(
            "redis",
            False,
            f"{where}: {used} of {limit} bytes used",
            "raise maxmemory or clear old keys (qhub cache clear)",
        )
    room = f"{used} of {limit} bytes used" if limit else f"{used} bytes used, no maxmemory"
    return Check("redis", True, f"{where} answered PING; {room}")


def _history_check(cfg: QHubConfig) -> Check:
    """The run history opens read-only and lists its newest run (creates nothing; a
    PostgreSQL history is asked over the network with the configured time limits)."""
    from qhub.profiling.history import NothingRecordedError, open_history

    url = cfg.profiling.history_url
    fix = (
        "start the database or fix profiling.history_url (runs still write their reports)"
        if url
        else "check profiling.history_db; a file SQLite proves corrupt is set aside by the next run"
    )
    try:
        with open_history(cfg, readonly=True) as history:
            where = history.location
            newest = history.runs(1, kind=None)
    except NothingRecordedError:
        return Check("history", True, "no runs recorded yet (the first run creates it)")
    except QHubError as exc:
        return Check("history", False, str(exc), fix)
    if not newest:
        return Check("history", True, f"{where}: no runs recorded yet")
    run = newest[0]
    when = f" at {run.finished_at}" if run.finished_at else ""
    return Check("history", True, f"{where}: newest run {run.id} ({run.kind}){when}")


def checks(cfg_loader: Callable[[], QHubConfig], timeout: float) -> Iterator[Check]:
    """Every check, in order; later checks are skipped when config does not resolve."""
    yield from _versions()
    try:
        cfg = cfg_loader()
    except QHubError as exc:
        yield Check("config", False, str(exc), "correct the setting named above")
        return
    files = ", ".join(str(p.name) for p in cfg.files) or "defaults and environment only"
    yield Check("config", True, f"resolved ({files})")
    yield _unprefixed(cfg)
    yield from _api_checks(cfg, timeout)
    from qhub.cache.backends import uses_redis

    if uses_redis(cfg):
        yield _redis_check(cfg, timeout)
    else:
        yield Check("redis", True, f"not used (cache.backend={cfg.cache.backend})")
    yield _history_check(cfg)
    if not cfg.profiling.history_url:
        yield _writable("history folder", cfg.path(cfg.profiling.history_db).parent)
    yield _writable("cache folder", cfg.path(cfg.cache.path).parent)
    yield _writable("report folder", cfg.path(cfg.report.dir))


def run(args: argparse.Namespace) -> int:
    failed = 0
    for check in checks(lambda: config_from_args(args), args.timeout):
        print(check.line())
        failed += not check.ok
    print(f"qhub doctor: {failed} problem(s)" if failed else "qhub doctor: all checks passed")
    return 1 if failed else 0
