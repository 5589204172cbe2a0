"""Helpers shared by subcommands: loading config from ``--config``."""

from __future__ import annotations

import argparse

from qhub.config import QHubConfig, load_config


def config_from_args(args: argparse.Namespace) -> QHubConfig:
    """The resolved configuration, honouring the global ``--config FILE`` option."""
    return load_config(config_file=getattr(args, "config", None))
