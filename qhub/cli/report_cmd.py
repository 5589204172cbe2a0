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
    which.add_argument(
        "--run", "--group", metavar="ID", help="one stored run (a part id finds its run)"
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


def run(args: argparse.Namespace) -> int:
    from qhub.profiling.history import open_history
    from qhub.profiling.render import RenderOptions, renderer, write_reports
    from qhub.profiling.reporting import build_report, load_run, recent_runs

    config = config_from_args(args)
    with open_history(config, readonly=True) as history:
        runs = [load_run(history, args.run)] if args.run else recent_runs(history, args.last or 1)
        report = build_report(config, history, runs)
    formats = list(dict.fromkeys(args.format or [*config.report.formats, "text"]))
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
