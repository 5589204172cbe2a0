"""The ``qhub`` command line: ``main(argv) -> exit code``.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``func(args) -> int`` runs it. Any :class:`qhub.QHubError` becomes one line on
stderr; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from qhub._version import __version__
from qhub.exceptions import QHubError, UsageError

_COMMANDS = ("audit", "report", "baseline", "check", "cache", "doctor")
"""Subcommand modules, ``qhub.cli.<name>_cmd``, in --help order."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors become one clean line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qhub",
        description="Make behave suites fast and explain why they are slow.",
    )
    parser.add_argument("--version", action="version", version=f"qhub {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="config file (default: qhub.yaml/qhub.json/pyproject.toml)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMANDS:
        importlib.import_module(f"qhub.cli.{name}_cmd").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args))
    except UsageError as exc:
        print(f"qhub: error: {exc}", file=sys.stderr)
        return 2
    except QHubError as exc:
        print(f"qhub: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("qhub: interrupted", file=sys.stderr)
        return 130
