"""``qhub cache``: placeholder until its subsystem lands."""

from __future__ import annotations

import argparse
from typing import Any

from qhub.exceptions import QHubError


def register(sub: Any) -> None:
    parser = sub.add_parser("cache", help="(not available yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise QHubError("'qhub cache' is not available yet in this version")
