"""``qhub doctor``: placeholder, written next."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("doctor", help="check config, APIs, Redis, folders and versions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return 0
