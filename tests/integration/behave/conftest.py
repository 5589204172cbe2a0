"""Builders for throw-away behave projects used by the integration tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import signals_deliverable

STEPS = """
import os
import time

from behave import given, then, when


def mark(name):
    with open(os.path.join(os.getcwd(), name), "a") as fh:
        fh.write("x\\n")


@given("a step that passes")
def step_passes(context):
    mark("ran.marker")


@when('it sleeps {seconds:f} seconds')
def step_sleeps(context, seconds):
    mark("started.marker")
    time.sleep(seconds)


@then("it fails an assertion")
def step_fails(context):
    assert 1 == 2, "one is not two"


@then('the setting "{key}" is written down')
def step_setting(context, key):
    section, name = key.split(".")
    session = getattr(context, "qhub", None)
    if session is None:
        return
    value = getattr(getattr(session.config, section), name)
    with open("setting.txt", "w") as fh:
        fh.write(f"{value!r}|{session.config.origin(key)}")
"""

FEATURE = """
Feature: Sample
  Scenario: first
    Given a step that passes
    Then the setting "report.top" is written down

  @bad
  Scenario: second
    Given a step that passes
"""


def make_project(
    root: Path,
    env_py: str,
    *,
    feature: str = FEATURE,
    steps: str = STEPS,
    files: dict[str, str] | None = None,
) -> Path:
    """Write features/, steps/ and environment.py (top-level layout) into ``root``."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "steps").mkdir(exist_ok=True)
    (root / "features" / "sample.feature").write_text(textwrap.dedent(feature))
    (root / "steps" / "sample_steps.py").write_text(textwrap.dedent(steps))
    (root / "environment.py").write_text(textwrap.dedent(env_py))
    for name, text in (files or {}).items():
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def project_factory(tmp_path: Path) -> Callable[..., Path]:
    """``project_factory(env_py, name=..., feature=..., files=...)`` -> project folder."""
    counter = iter(range(1000))

    def factory(env_py: str, name: str | None = None, **kwargs: object) -> Path:
        return make_project(tmp_path / (name or f"p{next(counter)}"), env_py, **kwargs)  # type: ignore[arg-type]

    return factory


SLOW = "Feature: F\n  Scenario: slow\n    When it sleeps 60.0 seconds\n"
"""One scenario whose step marks ``started.marker`` and then sleeps for a minute."""


def start_in_slow_step(project: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``behave`` in ``project`` (a :data:`SLOW` feature), returned once its step runs, with
    SIGINT, SIGTERM and SIGHUP deliverable: for the tests that interrupt it."""
    with signals_deliverable():
        proc = subprocess.Popen(
            [sys.executable, "-m", "behave", "--no-color"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    deadline = time.monotonic() + 60
    while not (project / "started.marker").exists():
        assert time.monotonic() < deadline, "the slow step never started"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    return proc
