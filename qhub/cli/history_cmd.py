"""``qhub history export|import``: move run history between backends as JSON lines.

``export`` reads a history without changing it (the configured one, or ``--from`` a
SQLite path or a ``postgresql://`` URL) and writes every run, its parts, figures and
pinned baselines to a file (atomically) or stdout. ``import`` checks the whole file first,
then stores it into the configured history (or ``--to``); importing twice changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qhub.cli._common import config_from_args


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "history",
        help="export or import the run history (JSON lines)",
        description="Move run history between backends: `qhub history export runs.jsonl` "
        "from one (e.g. a CI runner's SQLite file), `qhub history import runs.jsonl` into "
        "another (e.g. the team's PostgreSQL). See docs/parallel.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    export = actions.add_parser("export", help="write every run to a JSON-lines file")
    export.add_argument("file", nargs="?", default="-", help="file to write (default: stdout)")
    export.add_argument(
        "--from",
        dest="source",
        metavar="PATH|URL",
        help="history to read (default: the configured one)",
    )
    export.add_argument(
        "--kind",
        default="all",
        metavar="KIND",
        help="runs of one kind only: behave, stress (default: all)",
    )
    imp = actions.add_parser("import", help="store the runs of a JSON-lines file")
    imp.add_argument("file", help="file written by `qhub history export`")
    imp.add_argument(
        "--to",
        dest="target",
        metavar="PATH|URL",
        help="history to write (default: the configured one)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhub.exceptions import UsageError

    if not args.action:
        raise UsageError("qhub history: choose an action: export or import")
    config = config_from_args(args)
    if args.action == "export":
        return _export(config, args)
    return _import(config, args)


def _open(config: Any, target: str | None, *, readonly: bool) -> Any:
    from qhub.profiling.history import open_history, open_history_at

    if target:
        return open_history_at(target, config, readonly=readonly)
    return open_history(config, readonly=readonly)


def _export(config: Any, args: argparse.Namespace) -> int:
    import orjson

    from qhub._atomic import atomic_write_bytes
    from qhub.profiling.history.transfer import export_lines

    kind = None if args.kind == "all" else args.kind
    with _open(config, args.source, readonly=True) as history:
        location = history.location
        if args.file == "-":
            last = b""
            for line in export_lines(history, kind=kind):
                sys.stdout.buffer.write(line)
                last = line
            sys.stdout.buffer.flush()
        else:
            data = list(export_lines(history, kind=kind))
            atomic_write_bytes(args.file, b"".join(data))
            last = data[-1]
    end = orjson.loads(last)
    where = "stdout" if args.file == "-" else args.file
    print(
        f"qhub: exported {end['runs']} runs ({end['parts']} parts, {end['baselines']}"
        f" baseline(s)) from {location} to {where}",
        file=sys.stderr,
    )
    return 0


def _import(config: Any, args: argparse.Namespace) -> int:
    from qhub.profiling.history.transfer import check_file, import_file

    path = Path(args.file)
    check_file(path)  # a bad file is refused before the target is even opened
    with _open(config, args.target, readonly=False) as history:
        counts = import_file(history, path)
        location = history.location
    note = ""
    if counts.skipped_baselines:
        note = f"; kept the target's own baseline(s): {', '.join(counts.skipped_baselines)}"
    print(
        f"qhub: imported {counts.runs} runs ({counts.parts} parts, {counts.baselines}"
        f" baseline(s)) into {location}{note}",
        file=sys.stderr,
    )
    return 0
