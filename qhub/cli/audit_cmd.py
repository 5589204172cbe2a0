"""``qhub audit``: what step loading costs, and step definitions behave would reject.

Exit status: 0 when no finding reaches ``--fail-on``, 1 when one does, 2 on a usage or
input error (and on an internal error, which is reported in one line, never as a
traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qhub.exceptions import AuditError, QHubError

_FORMATS = ("text", "json", "sarif")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="find heavy, unused and redundant imports in step files (measured costs)",
        description="Audit behave step modules and environment.py without running them: "
        "installed modules are timed in isolated subprocesses, costs attributed in behave's "
        "load order, step definitions checked by the target's own behave.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="files or folders (default: imports.paths, else behave's steps "
                        "folder and environment.py)")
    parser.add_argument("--format", choices=_FORMATS, default="text", help="report format")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    parser.add_argument("--fail-on", choices=("info", "warning", "error"),
                        help="lowest severity that makes the exit status 1 "
                        "(default: imports.fail_on)")
    parser.add_argument("--select", action="append", metavar="RULE",
                        help="only these rules (id, id prefix or name; repeatable, commas ok)")
    parser.add_argument("--ignore", action="append", metavar="RULE", help="skip these rules")
    parser.add_argument("--python", metavar="EXE",
                        help="interpreter behave runs on: it measures imports and its behave "
                        "checks the steps (default: this one)")
    parser.add_argument("--threshold-ms", type=float, metavar="MS",
                        help="cost that makes an import heavy (default: "
                        "imports.heavy_threshold_ms)")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="seconds allowed per measured import (default: imports.timeout_s)")
    parser.add_argument("--jobs", type=int, default=0,
                        help="parallel measuring subprocesses (default: half the cores)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="imports per uncached module; the fastest counts (default: 3)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="import-time cache folder (default: .qhub/importtime)")
    parser.add_argument("--no-cache", action="store_true", help="measure everything again")
    parser.add_argument("--target-version", metavar="X.Y",
                        help="Python the suite runs on (3.15+ gets PEP 810 suggestions)")
    parser.add_argument("--features", action="append", metavar="PATH",
                        help="feature files/folders for unused-step checks (default: features/)")
    parser.add_argument("--emit", choices=("ruff",),
                        help="print a ruff TID253 config banning the heavy modules found")
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff moving lazy-candidate imports into functions")
    parser.add_argument("--write", action="store_true", help="with --diff: apply the diff")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress line on stderr (shown on a terminal after 1 s)")
    parser.set_defaults(func=run)


def _features(items: list[str] | None) -> list[Path] | None:
    if not items:
        return None
    from qhub.audit.layout import feature_files

    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out.extend(feature_files([path]))
        elif path.is_file():
            out.append(path)
        else:
            raise AuditError(f"--features {item}: no such file or folder")
    return out


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (QHubError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug of qhub's: one line and exit 2, never a traceback
        where = ""
        tb = exc.__traceback__
        while tb is not None:
            where = f" ({tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno})"
            tb = tb.tb_next
        raise AuditError(f"internal error {type(exc).__name__}: {exc}{where}; please report "
                         "it at qhub's issue tracker") from None


def _run(args: argparse.Namespace) -> int:
    from qhub.audit import fixes
    from qhub.audit.engine import run_audit
    from qhub.audit.model import Severity
    from qhub.audit.options import parse_version
    from qhub.cli._common import config_from_args

    if args.write and not args.diff:
        raise AuditError("--write needs --diff (the diff is what gets written)")
    config = config_from_args(args)
    result = run_audit(
        args.paths,
        config=config,
        python=args.python,
        select=args.select,
        ignore=args.ignore,
        heavy_threshold_ms=args.threshold_ms,
        timeout_s=args.timeout,
        jobs=args.jobs,
        repeat=args.repeat,
        cache_dir=Path(args.cache_dir).resolve() if args.cache_dir else None,
        use_cache=not args.no_cache,
        target_version=parse_version(args.target_version),
        features=_features(args.features),
        progress=False if args.no_progress else None,
    )
    fail_on = Severity.parse(args.fail_on or config.imports.fail_on)
    threshold = args.threshold_ms if args.threshold_ms is not None else (
        config.imports.heavy_threshold_ms)
    if args.emit == "ruff":
        from qhub.audit.render import ruff

        _out(ruff.render(result, threshold), args.output)
    elif args.diff:
        plans = fixes.plan_all(result)
        _out(fixes.unified_diff(plans), args.output)
        for p in plans:
            for line in p.skipped:
                print(f"qhub: skipped {line}", file=sys.stderr)
        if args.write:
            written = fixes.write(plans)
            moved = sum(len(p.moved) for p in plans)
            print(f"qhub: moved {moved} import(s) in {len(written)} file(s)", file=sys.stderr)
    else:
        from qhub.audit.render import json_report, sarif, text

        renderer = {"text": text.render, "json": json_report.render,
                    "sarif": sarif.render}[args.format]
        _out(renderer(result), args.output)
    return result.exit_code(fail_on)


def _out(text: str, output: str | None) -> None:
    if output:
        from qhub._atomic import AtomicWriteError, atomic_write_text

        try:
            atomic_write_text(output, text)
        except (AtomicWriteError, OSError) as exc:
            raise AuditError(str(exc) if isinstance(exc, AtomicWriteError)
                             else f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
