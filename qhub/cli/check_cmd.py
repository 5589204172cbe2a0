"""``qhub check --threshold PCT``: the CI gate; exit 1 on a performance regression."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qhub.cli._common import config_from_args
from qhub.exceptions import UsageError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="compare the newest run with the baseline; exit 1 on a regression",
        description="Exit 0: no regression. Exit 1: a step definition, scenario or block is "
        "significantly slower than the baseline (or a budget is exceeded with --fail-on-budget "
        "or profiling.fail_on_budget, or memory leaks with --fail-on-leak). Exit 2: usage "
        "error or nothing to check.",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="PCT",
        help="slowdown in percent that counts (default: profiling.regression_threshold_percent)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", metavar="ID", help="check this run (default: the newest group)")
    which.add_argument("--last", type=int, metavar="N", help="check the newest N run groups pooled")
    parser.add_argument("--fail-on-budget", action="store_true", help="budget violations fail")
    parser.add_argument("--fail-on-leak", action="store_true", help="a memory leak fails")
    parser.add_argument(
        "--require-baseline", action="store_true", help="exit 2 when no baseline exists"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qhub.profiling.session import open_history, report_from_history

    if args.threshold is not None and args.threshold < 0:
        raise UsageError("qhub check: --threshold must not be negative")
    if args.last is not None and args.last < 1:
        raise UsageError("qhub check: --last must be at least 1")
    config = config_from_args(args)
    history = open_history(config)
    try:
        report = report_from_history(
            config,
            history,
            run_id=args.run,
            last=args.last or 1,
            threshold_percent=args.threshold,
        )
    finally:
        history.close()
    analysis = report["analysis"]
    if analysis["baseline"] is None and args.require_baseline:
        print("qhub: error: no baseline to check against (`qhub baseline set`)", file=sys.stderr)
        return 2
    budgets = analysis["budgets"]
    fail_budget = args.fail_on_budget or budgets["fail_on_budget"]
    failed = bool(analysis["regressions"])
    failed |= bool(fail_budget and budgets["violations"])
    failed |= bool(args.fail_on_leak and analysis["leak"])
    _print(report, args.format)
    return 1 if failed else 0


def _print(report: dict[str, Any], fmt: str) -> None:
    analysis = report["analysis"]
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(analysis, indent=2, default=str) + "\n")
        return
    if fmt == "markdown":
        from qhub.profiling.render.markdown_report import render

        sys.stdout.write(render(report, None))
        return
    from qhub.profiling.render.text_report import analysis_lines

    baseline = analysis["baseline"]
    t = analysis["thresholds"]
    sys.stdout.write(
        f"qhub check: run {report['run']['id']} vs "
        f"{baseline['source'] if baseline else 'no baseline'}; threshold "
        f"{t['threshold_percent']}%, noise floor {t['noise_floor_ms']} ms, "
        f"{t['test']} at alpha {t['alpha']}\n"
    )
    rows = analysis["regressions"] + analysis["improvements"]
    if rows:
        sys.stdout.write(
            f"{'change':>9} {'base ms':>10} {'now ms':>10} {'p':>8} {'n':>9}  kind / what\n"
        )
        for c in rows:
            sys.stdout.write(
                f"{c['change_percent']:>+8.1f}% {c['baseline_median_ms']:>10.3f} "
                f"{c['current_median_ms']:>10.3f} {c['p_value']:>8.2g} "
                f"{c['baseline_samples']:>4}/{c['current_samples']:<4}  "
                f"{c['direction'][:4].upper()} {c['kind']}: {c['name']} [{c['key']}]\n"
            )
    for line in analysis_lines(analysis, 20):
        if not line.startswith(("  SLOWER", "  faster")):
            sys.stdout.write(line + "\n")
