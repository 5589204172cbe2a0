"""``qhub baseline``: placeholder until its subsystem lands."""

from __future__ import annotations

import argparse
from typing import Any

from qhub.exceptions import QHubError


def register(sub: Any) -> None:
    parser = sub.add_parser("baseline", help="(not available yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise QHubError("'qhub baseline' is not available yet in this version")
