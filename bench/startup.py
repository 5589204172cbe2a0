"""Start-up cost of qhub per ``behave`` invocation, side by side with plain behave.

Two measurements, each a real ``python -m behave`` subprocess, interleaved, median of
several rounds, with byte-code written (as an installed qhub would run; this machine sets
``PYTHONDONTWRITEBYTECODE=1``, which would make every run recompile qhub):

1. A small suite (3 features, 15 scenarios of trivial steps) run with plain behave and with
   ``install(context)`` in ``before_all``: whole-run wall time, and the difference per
   invocation (what a developer pays each time they run ``behave`` on one feature).
2. The example suite at the repository root: the ``qhub_setup`` part of qhub's own
   wall-clock attribution (config, profiler), the ``qhub_first_use`` part (the tools the
   suite uses, built where first used) and the run's wall time.

    python bench/startup.py              # 7 rounds
    python bench/startup.py --rounds 11
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STEPS = """
from behave import given, then, when


@given("a number {n:d}")
def step_number(context, n):
    context.n = n


@when("it is doubled")
def step_double(context):
    context.n *= 2


@then("it is {n:d}")
def step_is(context, n):
    assert context.n == n
"""

PLAIN_ENV = """
def before_all(context):
    context.ready = True
"""

QHUB_ENV = """
from qhub.behave import install


def before_all(context):
    context.ready = True
    install(context)
"""


def _feature(index: int) -> str:
    scenarios = "".join(
        f"  Scenario: doubling {index}.{i}\n"
        f"    Given a number {i}\n    When it is doubled\n    Then it is {2 * i}\n"
        for i in range(5)
    )
    return f"Feature: numbers {index}\n{scenarios}"


def _suite(folder: Path, env_py: str) -> Path:
    (folder / "features" / "steps").mkdir(parents=True)
    for index in range(3):
        (folder / "features" / f"n{index}.feature").write_text(_feature(index))
    (folder / "features" / "steps" / "numbers.py").write_text(STEPS)
    (folder / "features" / "environment.py").write_text(env_py)
    return folder


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_", "CACHE_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "QHUB_PROFILING_HISTORY_DB": str(state / "history.db"),
            "QHUB_CACHE_PATH": str(state / "cache.db"),
            "QHUB_REPORT_DIR": str(state / "reports"),
            "QHUB_REPORT_SUMMARY": "false",
            "NO_COLOR": "1",
        }
    )
    return env


def _run(cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "behave", "-f", "null", "--no-summary"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"behave failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return wall


def _qhub_parts_ms(report: Path) -> tuple[float, float]:
    """``qhub_setup`` and ``qhub_first_use`` of the run's attribution, in ms."""
    parts = {p["name"]: p["ms"] for p in json.loads(report.read_text())["attribution"]["parts"]}
    return float(parts["qhub_setup"]), float(parts.get("qhub_first_use", 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qhub-startup-") as tmp:
        base = Path(tmp)
        plain = _suite(base / "plain", PLAIN_ENV)
        qhub = _suite(base / "qhub", QHUB_ENV)
        env_plain, env_qhub, env_example = (
            _env(base / "s-plain"),
            _env(base / "s-qhub"),
            _env(base / "s-example"),
        )
        # warm-up: byte-code written for behave, qhub and the suites
        _run(plain, env_plain)
        _run(qhub, env_qhub)
        _run(ROOT, env_example)
        walls: dict[str, list[float]] = {"plain": [], "qhub": [], "example": []}
        setup: list[float] = []
        first_use: list[float] = []
        report = base / "s-example" / "reports" / "qhub-report.json"
        for round_ in range(args.rounds):
            order = [("plain", plain, env_plain), ("qhub", qhub, env_qhub),
                     ("example", ROOT, env_example)]  # fmt: skip
            if round_ % 2:
                order.reverse()
            for name, cwd, env in order:
                walls[name].append(_run(cwd, env))
                if name == "example":
                    ms_setup, ms_first_use = _qhub_parts_ms(report)
                    setup.append(ms_setup)
                    first_use.append(ms_first_use)
    med = {name: statistics.median(values) * 1000 for name, values in walls.items()}
    setup_ms = statistics.median(setup)
    print(f"qhub start-up, median of {args.rounds} rounds (python {sys.version.split()[0]})")
    print(f"{'':34}{'plain behave':>14}{'with qhub':>12}{'ratio':>8}{'added':>10}")
    print(
        f"{'small suite (15 scenarios), wall':34}{med['plain']:>11.0f} ms{med['qhub']:>9.0f} ms"
        f"{med['qhub'] / med['plain']:>7.2f}x{med['qhub'] - med['plain']:>7.0f} ms"
    )
    print(
        f"example suite: qhub_setup {setup_ms:.1f} ms of {med['example']:.0f} ms wall"
        f" ({100 * setup_ms / med['example']:.1f} %); range {min(setup):.1f}-{max(setup):.1f} ms"
    )
    print(
        f"example suite: qhub_first_use {statistics.median(first_use):.1f} ms (API client with"
        " requests, schema compile with jsonschema, test data with Faker: what the suite uses)"
    )


if __name__ == "__main__":
    main()
