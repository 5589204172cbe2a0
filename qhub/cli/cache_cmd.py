"""``qhub cache stats|clear|warm``: inspect and manage the configured cache.

The commands use ``on_error="fail"``, so an unreachable Redis or an unreadable file is
reported as one error line instead of silently showing an empty in-memory fallback.
``stats`` opens a disk cache read-only and ``clear`` opens only an existing one: neither
creates a file or a folder. Patterns use Redis's glob syntax on every backend; an invalid
one is one error line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from qhub._warn import warn
from qhub.cli._common import config_from_args
from qhub.exceptions import UsageError

WARM_HOOK = "register_warming"


def register(sub: Any) -> None:
    parser = sub.add_parser("cache", help="inspect and manage the configured cache")
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--backend", help="override cache.backend (name, URL or path)")
    common.add_argument("--namespace", help="override cache.namespace")

    stats = actions.add_parser("stats", parents=[common], help="show items, bytes and health")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.set_defaults(func=run_stats)

    clear = actions.add_parser("clear", parents=[common], help="remove this namespace's keys")
    clear.add_argument(
        "pattern", nargs="?", help="only keys matching this glob (Redis syntax), e.g. 'users:*'"
    )
    clear.add_argument("--pattern", dest="pattern_option", metavar="PATTERN",
                       help="same as the PATTERN argument")
    clear.set_defaults(func=run_clear)

    warm = actions.add_parser(
        "warm",
        parents=[common],
        help=f"run warming functions registered by SOURCE's {WARM_HOOK}(cache)",
    )
    warm.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="a .py file or an importable module"
    )
    warm.add_argument("--format", choices=("text", "json"), default="text")
    warm.set_defaults(func=run_warm)
    parser.set_defaults(func=_missing_action)


def _missing_action(args: argparse.Namespace) -> int:
    raise UsageError("qhub cache: choose an action: stats, clear or warm (see --help)")


def _cache(args: argparse.Namespace, *, create: bool = True, readonly: bool = False) -> Any:
    from qhub.cache import CacheManager

    return CacheManager.from_config(
        config_from_args(args),
        backend=args.backend,
        namespace=args.namespace,
        on_error="fail",
        create=create,
        readonly=readonly,
    )


def run_stats(args: argparse.Namespace) -> int:
    with _cache(args, readonly=True) as cache:
        stats = cache.stats()
        backend = cache.backend
        described = repr(backend)
    missing = getattr(backend, "path", None)
    missing = missing is not None and not missing.exists()
    if args.format == "json":
        print(json.dumps({**stats, "backend_description": described}, indent=2, default=str))
        return 0
    print(f"backend:     {described}")
    print(f"namespace:   {stats['namespace'] or '(none)'}")
    print(f"items:       {stats['total_size']}")
    stored = stats["bytes_stored"]
    print(f"bytes:       {'unknown' if stored is None else f'{stored:,}'}")
    if missing:
        print("note:        no cache file there yet (nothing was created)")
    if stats["backend"] == "memory":
        print("note:        the memory backend lives inside one run; it is always empty here")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    if args.pattern and args.pattern_option:
        raise UsageError("qhub cache clear: give the pattern once (PATTERN or --pattern)")
    pattern = args.pattern or args.pattern_option
    with _cache(args, create=False) as cache:
        removed = cache.invalidate_pattern(pattern) if pattern else cache.clear()
        where = f"namespace {cache.namespace!r}" if cache.namespace else "the cache"
    what = f"matching {pattern!r} " if pattern else ""
    print(f"removed {removed} key(s) {what}from {where}")
    return 0


def _load(source: str) -> ModuleType:
    path = Path(source)
    if source.endswith(".py") or path.is_file():
        if not path.is_file():
            raise UsageError(f"qhub cache warm: no such file {source}")
        spec = importlib.util.spec_from_file_location(f"qhub_warm_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise UsageError(f"qhub cache warm: cannot load {source}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(source)
    except ImportError as exc:
        raise UsageError(f"qhub cache warm: cannot import {source}: {exc}") from exc


def run_warm(args: argparse.Namespace) -> int:
    with _cache(args) as cache:
        for source in args.sources:
            hook = getattr(_load(source), WARM_HOOK, None)
            if not callable(hook):
                raise UsageError(f"qhub cache warm: {source} defines no {WARM_HOOK}(cache)")
            hook(cache)
        cache.enable_warming()
        report = cache.warm_cache()
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        for name, row in report["functions"].items():
            status = "ok" if row["ok"] else f"FAILED: {row['error']}"
            print(f"{name:<30} {row['seconds'] * 1000:9.1f} ms  {status}")
        print(f"{report['succeeded']} warmed, {report['failed']} failed")
    if not report["functions"]:
        warn("cache warm: no warming functions were registered")
    return 1 if report["failed"] else 0
