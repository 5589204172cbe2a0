"""``qhub report``: rebuild the text/JSON/HTML/Markdown/Prometheus/JUnit report from history.

It reads the run history without changing it (no history file is created); the report
files it is asked for are its output.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qhub.cli._common import config_from_args, positive_count

_STDOUT_FORMATS = ("text", "markdown", "github")


def register(sub: Any) -> None:
    from qhub.profiling.render import FORMATS

    parser = sub.add_parser(
        "report",
        help="rebuild reports from the run history",
        description="Rebuild reports from stored runs. By default the newest run (all its "
        "parallel workers merged). text, markdown and github go to stdout; json, html, "
        "prometheus and junit are written to --dir.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", help="one stored run (a part id finds its run)")
    which.add_argument(
        "--group",
        nargs="?",
        const="",
        metavar="ID",
        help="every run of a CI pipeline (or run) ID merged into one: its shards and workers;"
        " without ID, this CI pipeline's",
    )
    which.add_argument("--last", type=positive_count, metavar="N", help="the newest N runs, pooled")
    parser.add_argument(
        "--format",
        action="append",
        choices=FORMATS,
        help="format to produce (repeatable; default: report.formats from config, plus text)",
    )
    parser.add_argument(
        "--dir", metavar="DIR", help="folder for report files (default: report.dir)"
    )
    parser.add_argument(
        "--link", metavar="URL", help="where the HTML report will live (markdown link target)"
    )
    parser.set_defaults(func=run)


def select_runs(history: Any, args: argparse.Namespace) -> list[Any]:
    """The runs ``--run``, ``--group`` or ``--last`` name (default: the newest run)."""
    from qhub.profiling.history.group import load_group, resolve_group
    from qhub.profiling.reporting import load_run, recent_runs

    if args.group is not None:
        return [load_group(history, resolve_group(args.group))]
    if args.run:
        return [load_run(history, args.run)]
    return recent_runs(history, args.last or 1)


def run(args: argparse.Namespace) -> int:
    from qhub.profiling.history import open_history
    from qhub.profiling.render import RenderOptions, renderer, write_reports
    from qhub.profiling.reporting import build_report

    config = config_from_args(args)
    formats = list(dict.fromkeys(args.format or [*config.report.formats, "text"]))
    with open_history(config, readonly=True) as history:
        runs = select_runs(history, args)
        report = build_report(config, history, runs, stress="html" in formats)
    files = [f for f in formats if f not in _STDOUT_FORMATS]
    directory = config.path(args.dir) if args.dir else config.path(config.report.dir)
    options = RenderOptions(
        top=config.report.top, verbose=config.report.verbose, link=args.link or "qhub-report.html"
    )
    for path in write_reports(report, directory, files, options):
        label = "HTML report" if path.suffix == ".html" else "report"
        print(f"qhub: {label}: {path}", file=sys.stderr)
    for fmt in formats:
        if fmt in _STDOUT_FORMATS:
            sys.stdout.write(renderer(fmt)(report, options))
    return 0
