"""``qhub baseline set|show|clear|export|import``: pin the runs new runs are compared to.

``set`` refuses a run that failed or was interrupted (its timings are not a fair yardstick)
unless ``--allow-failed``; ``show`` and ``export`` read the history without changing it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qhub.cli._common import config_from_args, positive_count
from qhub.exceptions import UsageError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "baseline",
        help="pin, show, export or import the performance baseline",
        description="The baseline is what `qhub check` and every run's report compare "
        "against: stored runs pinned in the history, or a JSON file (profiling.baseline_file) "
        "that teams commit. Three runs or more give the steadiest verdicts.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    set_p = actions.add_parser("set", help="pin runs from history as the baseline")
    which = set_p.add_mutually_exclusive_group()
    which.add_argument("--run", action="append", metavar="ID", help="a run id (repeatable)")
    which.add_argument(
        "--last", type=positive_count, metavar="N", help="the newest N runs (default: 1)"
    )
    set_p.add_argument(
        "--allow-failed",
        action="store_true",
        help="also pin runs that failed or were interrupted",
    )
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
    if not args.action:
        raise UsageError("qhub baseline: choose an action: set, show, clear, export or import")
    config = config_from_args(args)
    if args.action == "import":
        return _import(config, args.file)
    if args.action == "show":
        return _show(config)
    if args.action == "export":
        return _export(config, args.file)
    from qhub.profiling.history import open_history

    with open_history(config) as history:
        if args.action == "clear":
            print("qhub: baseline cleared" if history.clear_baseline() else "qhub: no baseline")
            return 0
        return _set(history, args)


def _set(history: Any, args: argparse.Namespace) -> int:
    from qhub.exceptions import ProfilerError

    if args.run:
        summaries = []
        for given in args.run:
            found = history.get_run(given)
            if found is None:
                raise ProfilerError(f"no run {given!r} in {history.location}")
            summaries.append(found)
    else:
        summaries = history.runs(args.last or 1)
        if not summaries:
            raise ProfilerError(f"no runs in {history.location} to pin: run behave with qhub")
    unfit = [s for s in summaries if (s.status or "passed") != "passed"]
    if unfit and not args.allow_failed:
        shown = ", ".join(f"{s.id} ({s.status})" for s in unfit[:3])
        raise UsageError(
            f"qhub baseline set: refusing {len(unfit)} run(s) that did not pass: {shown};"
            " pin passing runs, or add --allow-failed"
        )
    run_ids = list(dict.fromkeys(s.id for s in summaries))
    history.set_baseline(run_ids)
    print(f"qhub: baseline pinned: {', '.join(run_ids)}")
    dirty = [s.id for s in summaries if s.git_dirty]
    if dirty:
        print(f"qhub: note: {len(dirty)} pinned run(s) had uncommitted changes", file=sys.stderr)
    if len(run_ids) < 3:
        print(
            "qhub: note: with fewer than 3 baseline runs, once-per-run steps and scenarios are"
            " judged by a plain ratio rule (`--last 3` gives a noise estimate)",
            file=sys.stderr,
        )
    return 0


def _import(config: Any, file: str) -> int:
    from qhub.profiling.baseline import read_baseline, write_baseline

    baseline = read_baseline(file)
    if not config.profiling.baseline_file:
        raise UsageError(
            "qhub baseline import: set profiling.baseline_file first "
            "(e.g. QHUB_PROFILING_BASELINE_FILE=perf-baseline.json)"
        )
    target = write_baseline(config.path(config.profiling.baseline_file), baseline)
    print(
        f"qhub: baseline with {baseline.count()} items from {len(baseline.runs)} run(s) -> {target}"
    )
    return 0


def _export(config: Any, file: str) -> int:
    from qhub.profiling.baseline import write_baseline
    from qhub.profiling.history import open_history
    from qhub.profiling.reporting import pinned_baseline

    with open_history(config, readonly=True) as history:
        if history.baseline() is None:
            raise UsageError("qhub baseline export: no baseline pinned (`qhub baseline set`)")
        samples, notes = pinned_baseline(history)
    for note in notes:
        print(f"qhub: note: {note}", file=sys.stderr)
    if samples is None:
        raise UsageError("qhub baseline export: the pinned baseline has no readable run")
    print(f"qhub: baseline written to {write_baseline(file, samples)}")
    return 0


def _show(config: Any) -> int:
    from qhub.exceptions import ProfilerError
    from qhub.profiling.history import open_history

    out = sys.stdout
    if config.profiling.baseline_file:
        path = config.path(config.profiling.baseline_file)
        state = "present (wins over the pinned runs)" if path.exists() else "missing"
        out.write(f"baseline file: {path} ({state})\n")
    try:
        history = open_history(config, readonly=True)
    except ProfilerError as exc:
        out.write(f"pinned baseline: none ({exc})\n")
        return 0
    with history:
        pinned = history.baseline()
        if pinned is None:
            out.write("pinned baseline: none\n")
        else:
            out.write(f"pinned baseline: {', '.join(pinned.runs)} (since {pinned.created_at})\n")
        out.write("recent runs:\n")
        for r in history.runs(limit=10):
            wall = f"{(r.wall_ms or 0) / 1000:.2f} s"
            dirty = "+dirty" if r.git_dirty else ""
            workers = f" {r.parts} parts" if r.parts > 1 else ""
            out.write(
                f"  {r.id}  {r.status or '?':<11} {wall:>9}  {r.finished_at or ''}"
                f"  {(r.git_commit or '')[:10]}{dirty}{workers}\n"
            )
    return 0
