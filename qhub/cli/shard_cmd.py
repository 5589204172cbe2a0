"""``qhub shard``: print the behave arguments of one CI shard, balanced by recorded time.

``behave $(qhub shard --total 4 --index 2)`` is the whole integration: stdout holds only
behave arguments (feature files and ``file:line`` locations); the plan and the predicted
time of every shard go to stderr. When it fails, stdout holds ``--qhub-shard-failed``, an
option behave rejects, so the shard fails instead of running the whole suite.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from qhub.cli._common import config_from_args, positive_count

FAILED = "--qhub-shard-failed"
"""Printed on stdout when planning fails: behave stops on it (unknown option)."""
EMPTY = "--include=^qhub-empty-shard$"
"""Printed for a shard with nothing to run: matches no feature file, so behave runs none."""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "shard",
        help="print the behave arguments of one CI shard, balanced by recorded durations",
        description="Split the suite behave would run into N shards of equal recorded time "
        "and print the arguments of shard I: `behave $(qhub shard --total 4 --index 2)`. "
        "Shards count from 1. Without --total/--index, CI variables are read "
        "(CI_NODE_TOTAL/CI_NODE_INDEX, Buildkite, CircleCI, Azure; see docs/parallel.md). "
        "Selection options for behave (tags, names, paths) go after `--`; give behave the "
        "same ones. The predicted time per shard is printed on stderr.",
    )
    parser.add_argument("--total", metavar="N", help="number of shards")
    parser.add_argument("--index", metavar="I", help="this shard, from 1 to N")
    parser.add_argument(
        "--by",
        choices=("scenario", "feature"),
        default="scenario",
        help="what is placed: each scenario (default; finest balance) or each feature file"
        " (feature hooks run once)",
    )
    parser.add_argument(
        "--history-runs",
        type=positive_count,
        default=10,
        metavar="K",
        help="recorded runs whose median durations are used (default 10)",
    )
    parser.add_argument(
        "--format",
        choices=("args", "json"),
        default="args",
        help="args: this shard's behave arguments (default); json: the whole plan",
    )
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="write this shard's locations to FILE (one a line) and print @FILE, for paths"
        " with spaces or very long lists",
    )
    parser.add_argument("behave_args", nargs=argparse.REMAINDER, help="-- behave selection")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BaseException:
        if args.format == "args":
            sys.stdout.write(FAILED + "\n")
            sys.stdout.flush()
        raise


def _which(args: argparse.Namespace) -> Any:
    from qhub.exceptions import UsageError
    from qhub.profiling.provenance import ShardError, ci_shard, shard_from

    try:
        from_ci = ci_shard()
        if args.total is None and args.index is None:
            if from_ci is None:
                raise UsageError(
                    "qhub shard: give --total N and --index I, or run where CI_NODE_TOTAL/"
                    "CI_NODE_INDEX (or Buildkite's, CircleCI's, Azure's) are set"
                )
            return from_ci
        total = _whole("--total", args.total) if args.total is not None else None
        index = _whole("--index", args.index) if args.index is not None else None
        if total is None or index is None:
            if from_ci is None:
                raise UsageError("qhub shard: give both --total and --index")
            total = from_ci.total if total is None else total
            index = from_ci.index if index is None else index
        return shard_from(total, index, "--total/--index")
    except ShardError as exc:
        raise UsageError(f"qhub shard: {exc}") from None


def _whole(name: str, text: str) -> int:
    from qhub.exceptions import UsageError

    try:
        return int(text)
    except ValueError:
        raise UsageError(
            f"qhub shard: argument {name}: must be a whole number, got {text!r}"
        ) from None


def _run(args: argparse.Namespace) -> int:
    from qhub.profiling.shard.planner import plan_shards
    from qhub.profiling.shard.suite import collect

    shard = _which(args)
    behave_args = list(args.behave_args)
    if behave_args[:1] == ["--"]:
        behave_args = behave_args[1:]
    config = config_from_args(args)
    suite = collect(behave_args)
    planned = plan_shards(config, suite, shard.total, args.by, history_runs=args.history_runs)
    plan = planned.plan
    if args.format == "json":
        import orjson

        doc = {**plan.as_dict(), "index": shard.index, "pinned_for": plan.pinned_for}
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    _describe(plan, shard, suite.scenarios, planned.history_note)
    mine = plan.args(shard.index)
    if args.output:
        _write_list(args.output, mine)
        sys.stdout.write(f"@{args.output}\n")
        return 0
    if not mine:
        sys.stdout.write(EMPTY + "\n")
        return 0
    spaced = [a for a in mine if any(ch.isspace() for ch in a)]
    if spaced:
        from qhub.exceptions import UsageError

        raise UsageError(
            f"qhub shard: {spaced[0]!r} has a space, which $(...) would split: use"
            " --output FILE and `behave @FILE`"
        )
    sys.stdout.write(" ".join(mine) + "\n")
    return 0


def _write_list(path: str, locations: list[str]) -> None:
    """One location a line, relative to the list's folder (behave reads them so)."""
    from qhub._atomic import atomic_write_text

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    lines = []
    for location in locations:
        file, sep, line = location.rpartition(":")
        if not (sep and file and line.isdigit()):
            file, line = location, ""
        lines.append(os.path.relpath(os.path.abspath(file), folder) + (f":{line}" if line else ""))
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


def _describe(plan: Any, shard: Any, scenarios: int, note: str | None) -> None:
    """The plan on stderr: what is split, from what, and every shard's prediction."""
    err = sys.stderr
    err.write(
        f"qhub shard: shard {shard.index} of {shard.total} ({shard.source}), by {plan.by}:"
        f" {plan.scenarios[shard.index - 1]} of {scenarios} scenarios\n"
    )
    if plan.timed:
        estimated = (
            f"; {plan.estimated} of {plan.units} without history estimated at the median"
            f" {_seconds(plan.median_ms or 0.0)}"
            if plan.estimated
            else ""
        )
        err.write(f"qhub shard: durations from {plan.history_runs} recorded run(s){estimated}\n")
        shown = [
            f"{i}: {_seconds(ms)}" + (" (this)" if i == shard.index else "")
            for i, ms in enumerate(plan.predicted, start=1)
        ]
        err.write(
            f"qhub shard: predicted per shard: {', '.join(shown)};"
            f" lower bound {_seconds(plan.lower_bound)}\n"
        )
    else:
        why = f" ({note})" if note else ""
        err.write(
            f"qhub shard: no recorded durations{why}: split by scenario count in stable-hash"
            f" order; scenarios per shard: {', '.join(str(n) for n in plan.scenarios)}\n"
        )
    if plan.pinned_for:
        err.write(
            f"qhub shard: plan pinned for pipeline {plan.pinned_for}: every shard of it gets"
            " this split\n"
        )
