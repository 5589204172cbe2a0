"""``qhub report``: rebuild the text/JSON/HTML/Markdown/Prometheus report from run history."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qhub.cli._common import config_from_args

_STDOUT_FORMATS = ("text", "markdown")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "report",
        help="rebuild reports from the run history",
        description="Rebuild reports from stored runs. By default the newest run, merged "
        "with the other parallel workers of its group. text and markdown go to stdout; "
        "json, html and prometheus are written to --dir.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", help="one stored run (see `qhub baseline show`)")
    which.add_argument("--group", metavar="ID", help="every worker of one run group, merged")
    which.add_argument("--last", type=int, metavar="N", help="the newest N run groups, merged")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --run: report the run's whole group (all parallel workers) merged",
    )
    parser.add_argument(
        "--format",
        action="append",
        choices=("json", "html", "markdown", "prometheus", "text"),
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
    from qhub.exceptions import UsageError
    from qhub.profiling.render import renderer
    from qhub.profiling.render.markdown_report import render as render_markdown
    from qhub.profiling.reports import write_reports
    from qhub.profiling.session import open_history, report_from_history

    if args.last is not None and args.last < 1:
        raise UsageError("qhub report: --last must be at least 1")
    config = config_from_args(args)
    history = open_history(config)
    try:
        group = args.group
        run_id = args.run
        if run_id is not None and args.merge:
            group, run_id = history.group_of(run_id), None
        report = report_from_history(
            config, history, run_id=run_id, group=group, last=args.last or 1
        )
    finally:
        history.close()
    formats = args.format or [*config.report.formats, "text"]
    files = [f for f in dict.fromkeys(formats) if f not in _STDOUT_FORMATS]
    directory = config.path(args.dir) if args.dir else config.path(config.report.dir)
    for path in write_reports(report, directory, files):
        label = "HTML report" if path.suffix == ".html" else "report"
        print(f"qhub: {label}: {path}", file=sys.stderr)
    for fmt in dict.fromkeys(formats):
        if fmt == "markdown":
            sys.stdout.write(render_markdown(report, args.link or "qhub-report.html"))
        elif fmt == "text":
            sys.stdout.write(renderer("text")(report))
    return 0
