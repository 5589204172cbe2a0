"""``qhub audit``: heavy and redundant imports in step files, with measured costs.

Exit status: 0 when no finding reaches ``--fail-on``, 1 when one does, 2 on a usage or
input error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qhub.exceptions import AuditError

_FORMATS = ("text", "json", "sarif")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="find heavy, unused and redundant imports in step files (measured costs)",
        description="Audit behave step modules and environment.py without running them: "
        "imports are timed in subprocesses, costs attributed in behave's load order.",
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
                        help="interpreter that measures imports (default: this one)")
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
    parser.set_defaults(func=run)


def _version(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        major, minor = (int(p) for p in text.split(".")[:2])
    except ValueError:
        raise AuditError(f"--target-version {text!r} is not X.Y (e.g. 3.12)") from None
    return major, minor


def _features(items: list[str] | None) -> list[Path] | None:
    if not items:
        return None
    from qhub.imports.steps_check import find_features

    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out.extend(find_features(path))
        elif path.is_file():
            out.append(path)
        else:
            raise AuditError(f"--features {item}: no such file or folder")
    return out


def run(args: argparse.Namespace) -> int:
    from qhub.cli._common import config_from_args
    from qhub.imports import fixes
    from qhub.imports.auditor import run_audit
    from qhub.imports.model import Severity

    if args.write and not args.diff:
        raise AuditError("--write needs --diff (the diff is what gets written)")
    if args.jobs < 0 or args.repeat < 1:
        raise AuditError("--jobs must be 0 (one per core) or more, --repeat 1 or more")
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
        target_version=_version(args.target_version),
        features=_features(args.features),
    )
    fail_on = Severity.parse(args.fail_on or config.imports.fail_on)
    threshold = args.threshold_ms if args.threshold_ms is not None else (
        config.imports.heavy_threshold_ms)
    if args.emit == "ruff":
        from qhub.imports import render_ruff

        _out(render_ruff.render(result, threshold), args.output)
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
        from qhub.imports import render_json, render_sarif, render_text

        renderer = {"text": render_text.render, "json": render_json.render,
                    "sarif": render_sarif.render}[args.format]
        _out(renderer(result), args.output)
    return result.exit_code(fail_on)


def _out(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AuditError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
