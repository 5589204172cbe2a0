"""``qhub baseline set|show|clear|export|import``: pin the runs new runs are compared to."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qhub.cli._common import config_from_args
from qhub.exceptions import UsageError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "baseline",
        help="pin, show, export or import the performance baseline",
        description="The baseline is what `qhub check` and every run's report compare "
        "against: stored runs pinned in the history, or a JSON file (profiling.baseline_file) "
        "that teams commit.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    set_p = actions.add_parser("set", help="pin runs from history as the baseline")
    which = set_p.add_mutually_exclusive_group()
    which.add_argument("--run", action="append", metavar="ID", help="a run id (repeatable)")
    which.add_argument("--last", type=int, metavar="N", help="the newest N run groups (default: 1)")
    actions.add_parser("show", help="print the baseline and the recent runs")
    actions.add_parser("clear", help="forget the pinned baseline")
    export_p = actions.add_parser("export", help="write the pinned baseline to a JSON file")
    export_p.add_argument("file", help="JSON file to write (commit it to share the baseline)")
    import_p = actions.add_parser(
        "import", help="check a baseline JSON file and install it as profiling.baseline_file"
    )
    import_p.add_argument("file", help="baseline JSON file written by `qhub baseline export`")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhub.profiling.analysis import samples_of
    from qhub.profiling.baseline import read_baseline, write_baseline
    from qhub.profiling.session import open_history

    if not args.action:
        raise UsageError("qhub baseline: choose an action: set, show, clear, export or import")
    config = config_from_args(args)
    if args.action == "import":
        baseline = read_baseline(args.file)
        if not config.profiling.baseline_file:
            raise UsageError(
                "qhub baseline import: set profiling.baseline_file first "
                "(e.g. QHUB_PROFILING_BASELINE_FILE=perf-baseline.json)"
            )
        target = write_baseline(config.path(config.profiling.baseline_file), baseline)
        print(f"qhub: baseline with {len(baseline.step_definitions)} step definitions -> {target}")
        return 0
    history = open_history(config)
    try:
        if args.action == "set":
            if args.last is not None and args.last < 1:
                raise UsageError("qhub baseline set: --last must be at least 1")
            run_ids = args.run or [rid for g in history.groups(args.last or 1) for rid in g["runs"]]
            history.set_baseline(run_ids)
            print(f"qhub: baseline pinned: {', '.join(run_ids)}")
        elif args.action == "clear":
            print("qhub: baseline cleared" if history.clear_baseline() else "qhub: no baseline")
        elif args.action == "export":
            pinned = history.baseline()
            if pinned is None:
                raise UsageError("qhub baseline export: no baseline pinned (`qhub baseline set`)")
            baseline = samples_of([history.load(rid) for rid in pinned["runs"]])
            baseline.created_at = pinned["created_at"]
            print(f"qhub: baseline written to {write_baseline(args.file, baseline)}")
        else:
            _show(config, history)
    finally:
        history.close()
    return 0


def _show(config: Any, history: Any) -> None:
    pinned = history.baseline()
    out = sys.stdout
    if config.profiling.baseline_file:
        path = config.path(config.profiling.baseline_file)
        state = "present (wins over the pinned runs)" if path.exists() else "missing"
        out.write(f"baseline file: {path} ({state})\n")
    if pinned is None:
        out.write("pinned baseline: none\n")
    else:
        out.write(f"pinned baseline: {', '.join(pinned['runs'])} (since {pinned['created_at']})\n")
    out.write("recent runs:\n")
    for r in history.runs(limit=10):
        wall = f"{(r['wall_ms'] or 0) / 1000:.2f} s"
        out.write(
            f"  {r['id']}  group {r['grp']}  {r['status'] or '?':<11} {wall:>9}"
            f"  {r['finished_at'] or ''}  {(r['git_commit'] or '')[:10]}\n"
        )
