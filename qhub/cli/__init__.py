"""The ``qhub`` command line: ``main(argv) -> exit code``.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``func(args) -> int`` runs it. Any :class:`qhub.QHubError` becomes one line on
stderr; usage errors exit 2. Global options (``--config``) work before or after the
subcommand. A reader that closes the pipe early (``qhub baseline show | head``) ends the
command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from qhub._version import __version__
from qhub.exceptions import QHubError, UsageError

_COMMANDS = ("audit", "report", "baseline", "check", "cache", "doctor", "stress")
"""Subcommand modules, ``qhub.cli.<name>_cmd``, in --help order."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors become one clean line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every (sub)command accepts; below the top they never override a value given
    before the subcommand (``SUPPRESS`` leaves the namespace alone when absent)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="config file (default: qhub.yaml/qhub.json/pyproject.toml)",
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser below ``parser`` (subcommands and their subcommands)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found.append(child)
                found.extend(_subparsers(child))
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qhub",
        description="Make behave suites fast and explain why they are slow.",
    )
    parser.add_argument("--version", action="version", version=f"qhub {__version__}")
    _add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMANDS:
        importlib.import_module(f"qhub.cli.{name}_cmd").register(sub)
    for child in _subparsers(parser):
        _add_global_options(child, top=False)
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
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    """The reader closed stdout: point it at /dev/null so the exit flush stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
