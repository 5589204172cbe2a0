"""``qhub stress [options] [--] [behave args...]``: the selected scenarios as a load test.

Exit 0: the load ran and every budget was met. Exit 1: a budget was violated. Exit 2: the
run could not start (usage, configuration, no scenario selected, undefined steps, a failing
``before_all``, no API host). Stopped by Ctrl-C/SIGTERM/SIGHUP: the report of what was done
is written and the exit code is 128 + the signal number (130, 143, 129).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from qhub.cli._common import number

_users = number(low=1, high=10_000, integer=True)
_iterations = number(low=1, high=100_000_000, integer=True)
_seconds = number(low=0, low_open=True, high=86_400)
_ramp = number(low=0, high=86_400)
_rate = number(low=0.001, high=1_000_000)
_multiplier = number(low=0.01, high=1000)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "stress",
        help="run the selected scenarios as a load test; exit 1 when a budget is violated",
        description="Run the scenarios behave would select, repeatedly and concurrently, "
        "and report latency percentiles per endpoint, step definition and scenario. "
        "qhub's options come first; behave's follow (after -- when the first one starts "
        "with a dash), e.g. qhub stress --users 8 --duration 30 -- --tags @smoke. "
        + (__doc__ or "").split("\n\n", 1)[1].replace("\n", " "),
    )
    parser.add_argument("--users", type=_users, metavar="N", help="concurrent virtual users")
    parser.add_argument("--duration", type=_seconds, metavar="SECONDS", help="length of the load")
    parser.add_argument(
        "--iterations",
        type=_iterations,
        metavar="N",
        help="iterations per user (one iteration runs every selected scenario once)",
    )
    parser.add_argument(
        "--ramp-up", type=_ramp, metavar="SECONDS", help="start users (or the rate) gradually"
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        metavar="PER_S",
        help="target iterations per second in total; latencies count from each scheduled start",
    )
    parser.add_argument(
        "--multiplier",
        type=_multiplier,
        metavar="X",
        help="scale the load (default: STRESS_MULTIPLIER / stress.multiplier)",
    )
    parser.add_argument(
        "--scale", choices=("users", "iterations"), help="what the multiplier scales"
    )
    parser.add_argument(
        "--grace",
        type=_ramp,
        metavar="SECONDS",
        help="time running iterations get after the duration",
    )
    parser.add_argument("--format", choices=("text", "json", "prometheus"), default="text")
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when an endpoint is significantly slower than in the previous stress run",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="live progress line on stderr (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("behave_args", nargs=argparse.REMAINDER, help="behave's arguments")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _config_file(path: str | None) -> Iterator[None]:
    """``--config FILE`` reaches qhub inside behave as ``QHUB_CONFIG``."""
    if not path:
        yield
        return
    previous = os.environ.get("QHUB_CONFIG")
    os.environ["QHUB_CONFIG"] = os.path.abspath(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("QHUB_CONFIG", None)
        else:
            os.environ["QHUB_CONFIG"] = previous


def run(args: argparse.Namespace) -> int:
    from qhub.stress.render import renderer
    from qhub.stress.run import StressOptions, record_and_compare, run_stress, write_reports

    behave_args = list(args.behave_args or [])
    if behave_args and behave_args[0] == "--":
        behave_args = behave_args[1:]
    options = StressOptions(
        behave_args=behave_args,
        users=None if args.users is None else int(args.users),
        duration_s=args.duration,
        iterations=None if args.iterations is None else int(args.iterations),
        ramp_up_s=args.ramp_up,
        rate=args.rate,
        multiplier=args.multiplier,
        scale=args.scale,
        grace_s=args.grace,
        progress=args.progress,
    )
    with _config_file(getattr(args, "config", None)):
        stress = run_stress(options, stderr=sys.stderr)
    stress = record_and_compare(stress)
    result = stress.result
    written = write_reports(stress)
    sys.stdout.write(renderer(args.format)(result))
    sys.stdout.flush()
    for path in written:
        print(f"qhub stress: report: {path}", file=sys.stderr)
    if result.signal is not None:
        return 128 + int(signal.Signals[result.signal])
    regressions = (result.comparison or {}).get("regressions") or []
    if args.fail_on_regression and regressions:
        print(
            f"qhub stress: {len(regressions)} endpoint(s) slower than the previous stress run",
            file=sys.stderr,
        )
        return 1
    if result.budgets_failed:
        print(f"qhub stress: {len(result.budgets_failed)} budget(s) violated", file=sys.stderr)
        return 1
    return 0


__all__ = ["register", "run"]
