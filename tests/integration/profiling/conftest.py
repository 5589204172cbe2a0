"""A behave project in tmp_path whose steps, hooks and step-module import can be slowed."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

STEPS = """
import os
import time
from behave import given, when, then
from qhub.profiling import profile_block

time.sleep(float(os.environ.get("SLOW_IMPORT_S", "0")))


@given("a number {n:d}")
def given_number(context, n):
    context.n = n


@when("I wait {ms:d} ms")
def wait_ms(context, ms):
    with profile_block(context.profiler, "waiting block"):
        time.sleep(ms / 1000)


@then("it is fine")
def it_is_fine(context):
    assert context.n >= 0
"""

ENV_INSTALL = """
import os
import time
from qhub.behave import install


def before_all(context):
    install(context)
    time.sleep(float(os.environ.get("SLOW_BEFORE_ALL_S", "0")))


def after_step(context, step):
    time.sleep(float(os.environ.get("SLOW_AFTER_STEP_S", "0")))
"""

ENV_PLAIN = """
import os
import time


def before_all(context):
    time.sleep(float(os.environ.get("SLOW_BEFORE_ALL_S", "0")))
"""


def feature(name: str, waits: list[int], scenario_prefix: str = "wait") -> str:
    body = [f"Feature: {name}", ""]
    for i, ms in enumerate(waits):
        body += [
            f"  Scenario: {scenario_prefix} {i}",
            f"    Given a number {i}",
            f"    When I wait {ms} ms",
            "    Then it is fine",
            "",
        ]
    return "\n".join(body)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project(features={name: text}, env="install"|"plain", config={...})``."""

    def make(
        features: dict[str, str] | None = None,
        env: str = "install",
        config: dict[str, Any] | None = None,
        name: str = "proj",
    ) -> Path:
        root = tmp_path / name
        (root / "features/steps").mkdir(parents=True)
        (root / "features/steps/steps.py").write_text(textwrap.dedent(STEPS))
        (root / "features/environment.py").write_text(
            ENV_INSTALL if env == "install" else ENV_PLAIN
        )
        for fname, text in (features or {"a.feature": feature("A", [5, 10, 15])}).items():
            (root / "features" / fname).write_text(text)
        (root / "qhub.json").write_text(json.dumps(config or {}))
        return root

    return make


def load_report(project: Path) -> dict[str, Any]:
    return json.loads((project / "reports/qhub-report.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def report_of() -> Callable[[Path], dict[str, Any]]:
    return load_report


@pytest.fixture
def feature_text() -> Callable[..., str]:
    """:func:`feature`: ``feature_text("A", [5, 10])`` -> feature file text."""
    return feature
