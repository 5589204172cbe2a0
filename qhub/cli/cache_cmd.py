"""``qhub cache stats|clear|warm``: inspect and manage the configured cache.

The commands use ``on_error="fail"``, so an unreachable Redis or an unreadable file is
reported as one error line instead of silently showing an empty in-memory fallback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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
    clear.add_argument("--pattern", help="only keys matching this glob, e.g. 'users:*'")
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


def _cache(args: argparse.Namespace) -> Any:
    from dataclasses import replace

    from qhub.cache import cache_from_config

    config = config_from_args(args)
    config = replace(config, cache=replace(config.cache, on_error="fail"))
    return cache_from_config(config, backend=args.backend, namespace=args.namespace)


def run_stats(args: argparse.Namespace) -> int:
    with _cache(args) as cache:
        stats = cache.get_stats()
        described = repr(cache.backend)
    if args.format == "json":
        print(json.dumps({**stats, "backend_description": described}, indent=2, default=str))
        return 0
    print(f"backend:     {described}")
    print(f"namespace:   {stats['namespace'] or '(none)'}")
    print(f"items:       {stats['total_size']}")
    stored = stats["bytes_stored"]
    print(f"bytes:       {'unknown' if stored is None else f'{stored:,}'}")
    if stats["backend"] == "memory":
        print("note:        the memory backend lives inside one run; it is always empty here")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    with _cache(args) as cache:
        removed = cache.invalidate_pattern(args.pattern) if args.pattern else cache.clear()
        where = f"namespace {cache.namespace!r}" if cache.namespace else "the cache"
    what = f"matching {args.pattern!r} " if args.pattern else ""
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
        print("qhub cache warm: no warming functions were registered", file=sys.stderr)
    return 1 if report["failed"] else 0
