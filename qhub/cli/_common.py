"""Helpers shared by subcommands: config from ``--config``, range-checked numeric options."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from qhub.config import QHubConfig, load_config


def config_from_args(args: argparse.Namespace) -> QHubConfig:
    """The resolved configuration, honouring the global ``--config FILE`` option."""
    return load_config(config_file=getattr(args, "config", None))


def number(
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> Callable[[str], float]:
    """An argparse ``type=`` that accepts only finite numbers in a range.

    ``number(low=0, low_open=True)`` means ``> 0``; ``number(low=1, integer=True)`` a whole
    number ``>= 1``. argparse turns the error into ``argument --x: must be ...``, one line.
    """
    kind = "a whole number" if integer else "a number"
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"<= {high:g}")
    wanted = f"must be {kind}{' ' + ' and '.join(bounds) if bounds else ''}"

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{wanted}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{wanted}, got {text!r}")
        too_low = low is not None and (value <= low if low_open else value < low)
        if too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{wanted}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


positive_seconds = number(low=0, low_open=True, high=86_400)
"""A timeout in seconds: more than 0, at most a day."""
positive_count = number(low=1, high=1_000_000, integer=True)
"""A count such as ``--last N``: a whole number from 1."""


def append_step_summary(markdown: str) -> None:
    """Append ``markdown`` to the file ``$GITHUB_STEP_SUMMARY`` names (a GitHub Actions job
    summary); a file that cannot be written is one warning, never a failed gate."""
    import os

    from qhub._warn import warn

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary:
        return
    try:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        warn(f"cannot append to GITHUB_STEP_SUMMARY {summary}: {exc.strerror or exc}")
