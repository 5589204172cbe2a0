"""Helpers for the fault and abuse suite: small real behave projects in ``tmp_path``.

Each test writes its own features, steps and ``environment.py`` (qhub's one-line
``install(context)``), runs real behave in a subprocess and inspects what qhub wrote.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

ENVIRONMENT = """\
from qhub.behave import install


def before_all(context):
    install(context)
"""

FLAG_STEPS = '''\
import os
import pathlib
import time

from behave import given


@given('the run pauses at flag "{name}"')
def step_pause(context, name):
    """Tell the test we are at ``name`` (``<name>.ready``) and wait for ``<name>.go``."""
    flags = pathlib.Path(os.environ["REL_FLAGS"])
    (flags / f"{name}.ready").touch()
    deadline = time.monotonic() + 60
    while not (flags / f"{name}.go").exists():
        assert time.monotonic() < deadline, f"nobody released flag {name}"
        time.sleep(0.02)
'''
"""A step that hands control to the test mid-run (used to kill Redis at a known point)."""


def write_project(
    root: Path,
    features: Mapping[str, str],
    steps: Mapping[str, str],
    environment: str = ENVIRONMENT,
) -> Path:
    """Write a behave project (``features/``, ``steps/``, ``environment.py``) into ``root``."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "steps").mkdir(exist_ok=True)
    (root / "environment.py").write_text(environment)
    for name, text in features.items():
        (root / "features" / name).write_text(textwrap.dedent(text))
    for name, text in steps.items():
        (root / "steps" / name).write_text(textwrap.dedent(text))
    return root


def report_files(root: Path, suffix: str) -> list[Path]:
    """qhub report files with this suffix under ``root/reports`` (newest last)."""
    folder = root / "reports"
    if not folder.is_dir():
        return []
    return sorted(folder.rglob(f"*{suffix}"), key=lambda p: p.stat().st_mtime)


def latest_json_report(root: Path) -> dict[str, Any]:
    """The newest JSON report qhub wrote for a run in ``root``."""
    files = report_files(root, ".json")
    assert files, f"qhub wrote no JSON report under {root / 'reports'}"
    data = json.loads(files[-1].read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def kit(qhub_env: Callable[..., dict[str, str]]) -> SimpleNamespace:
    """This module's helpers (test files cannot import conftest under importlib mode)."""
    return SimpleNamespace(
        write_project=write_project,
        report_files=report_files,
        latest_json_report=latest_json_report,
        qhub_env=qhub_env,
        ENVIRONMENT=ENVIRONMENT,
        FLAG_STEPS=FLAG_STEPS,
    )
