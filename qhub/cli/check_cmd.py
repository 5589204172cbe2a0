"""``qhub check``: the CI gate; exit 1 on a performance regression.

Read-only: it opens the run history without creating or changing anything. It speaks CI:
``--format github`` (workflow-command annotations; the default when ``GITHUB_ACTIONS`` is
``true``), ``--junit-xml PATH``, and the Markdown verdict appended to
``$GITHUB_STEP_SUMMARY`` when that is set. ``--stress`` gates stress runs instead
(:mod:`qhub.cli.check_stress`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from qhub.cli._common import append_step_summary, config_from_args, number, positive_count
from qhub.exceptions import UsageError

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report

_FORMATS = ("text", "json", "markdown", "github")


def _expression(text: str) -> str:
    from qhub.profiling.regression import Threshold

    try:
        Threshold.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="compare the newest run with the baseline; exit 1 on a regression",
        description="Exit 0: no regression (or nothing to compare: said so). Exit 1: a step "
        "definition, scenario or block is slower than the baseline by the decision rule in "
        "docs/profiling.md (or a budget is exceeded with --fail-on-budget, or memory leaks with "
        "--fail-on-leak). Exit 2: usage error, nothing recorded, or no baseline with "
        "--require-baseline. With --stress: the newest stress run against the one before "
        "it, exit 1 when an endpoint got slower, 2 when there is nothing to compare. "
        "Creates no files (except --junit-xml).",
    )
    parser.add_argument(
        "--threshold",
        type=number(low=0, high=100_000),
        metavar="PCT",
        help="median slowdown in percent that counts (same as --fail-on median:PCT%%)",
    )
    parser.add_argument(
        "--fail-on",
        action="append",
        type=_expression,
        metavar="EXPR",
        help="what counts as slower: STAT:N%% or STAT:Nms, STAT one of median, mean, min, max,"
        " p95 (repeatable; default median:<profiling.regression_threshold_percent>%%)",
    )
    parser.add_argument(
        "--threshold-ms",
        type=number(low=0, high=86_400_000),
        metavar="MS",
        help="absolute noise floor: changes smaller than this never count"
        " (default profiling.noise_floor_ms)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", help="check this run (default: the newest)")
    which.add_argument(
        "--group",
        nargs="?",
        const="",
        metavar="ID",
        help="check every run of a CI pipeline (or run) ID as one run: its shards and"
        " workers; without ID, this CI pipeline's",
    )
    which.add_argument(
        "--last", type=positive_count, metavar="N", help="check the newest N runs pooled"
    )
    parser.add_argument(
        "--stress",
        action="store_true",
        help="gate stress runs instead: the newest (or --run) against the stress run before it"
        " (or --baseline-run); exit 2 when there is nothing to compare",
    )
    parser.add_argument(
        "--baseline-run", metavar="ID", help="with --stress: the stress run to compare with"
    )
    parser.add_argument("--fail-on-budget", action="store_true", help="budget violations fail")
    parser.add_argument("--fail-on-leak", action="store_true", help="a memory leak fails")
    parser.add_argument(
        "--require-baseline", action="store_true", help="exit 2 when there is no baseline"
    )
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        help="output: text (default), json, markdown, github (default when GITHUB_ACTIONS=true)",
    )
    parser.add_argument(
        "--junit-xml", metavar="PATH", help="also write a JUnit XML file (one case per item)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhub.cli.report_cmd import select_runs
    from qhub.exceptions import PerformanceRegression
    from qhub.profiling.history import open_history
    from qhub.profiling.reporting import build_report
    from qhub.profiling.verdict import check_from_settings

    if args.stress:
        from qhub.cli.check_stress import run_stress_check

        return run_stress_check(args, config_from_args(args))
    if args.baseline_run:
        raise UsageError("qhub check: --baseline-run needs --stress")
    if args.junit_xml and not os.path.isdir(os.path.dirname(os.path.abspath(args.junit_xml))):
        raise UsageError(f"qhub check: --junit-xml {args.junit_xml}: its folder does not exist")
    config = config_from_args(args)
    check = check_from_settings(
        config.profiling,
        threshold_percent=args.threshold,
        expressions=args.fail_on,
        noise_floor_ms=args.threshold_ms,
    )
    with open_history(config, readonly=True) as history:
        report = build_report(config, history, select_runs(history, args), check=check)
    verdict = report.verdict
    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    _print(report, fmt)
    _ci_files(report, args.junit_xml)
    if verdict.baseline is None and args.require_baseline:
        print("qhub: error: no baseline to check against (`qhub baseline set`)", file=sys.stderr)
        return 2
    problems = []
    if verdict.counts.regressions:
        problems.append(f"{verdict.counts.regressions} regression(s)")
    budgets = verdict.budgets
    if (args.fail_on_budget or budgets.fail_on_budget) and budgets.violations:
        problems.append(f"{len(budgets.violations)} budget violation(s)")
    if args.fail_on_leak and verdict.leak:
        problems.append("a memory leak")
    if problems:
        raise PerformanceRegression(f"qhub check failed: {', '.join(problems)}")
    return 0


def _ci_files(report: Report, junit: str | None) -> None:
    from qhub.profiling.render import RenderOptions, renderer

    if junit:
        from qhub._atomic import atomic_write_text

        atomic_write_text(junit, renderer("junit")(report, RenderOptions()))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        append_step_summary(renderer("markdown")(report, RenderOptions(link=None)))


def _print(report: Report, fmt: str) -> None:
    from qhub.profiling.render import RenderOptions, renderer
    from qhub.profiling.render._fmt import (
        KIND_LABELS,
        baseline_label,
        comparison_line,
        counts_line,
        short,
    )

    out = sys.stdout
    verdict = report.verdict
    if fmt == "json":
        from qhub.profiling.record import to_json
        from qhub.profiling.render.json_report import verdict_document

        out.write(to_json(verdict_document(verdict), indent=True).decode("utf-8") + "\n")
        return
    if fmt == "markdown":
        out.write(renderer("markdown")(report, RenderOptions(link=None)))
        return
    run = report.record.run
    scope = f" (pooled over {len(run.pooled_runs)} runs)" if run.pooled else ""
    out.write(f"qhub check: run {short(run.id, 80)}{scope} vs {baseline_label(verdict)}\n")
    out.write(f"  {counts_line(verdict)}\n")
    if verdict.baseline is not None:
        out.write(f"  rule: {verdict.rule}\n")
        by_method = ", ".join(f"{n} {m}" for m, n in sorted(verdict.counts.by_method.items()))
        if by_method:
            out.write(f"  tests used: {by_method}\n")
    for c in (*verdict.regressions, *verdict.improvements):
        out.write(f"  {comparison_line(c)}\n    {short(c.reason, 160)}\n")
    for c in verdict.not_compared:
        out.write(
            f"  not compared ({c.verdict}): {KIND_LABELS.get(c.kind, c.kind)}"
            f" {short(c.name, 60)} [{short(c.location, 60)}]\n"
        )
    for warning in verdict.warnings:
        out.write(f"  warning: {short(warning, 160)}\n")
    for note in report.notes:
        out.write(f"  note: {short(note, 160)}\n")
    if verdict.budgets.configured:
        out.write(f"  budgets: {len(verdict.budgets.violations)} violation(s)\n")
    if verdict.leak:
        out.write("  memory: leak detected\n")
    if fmt == "github":
        out.write(renderer("github")(report, RenderOptions()))
