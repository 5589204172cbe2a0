"""The regression gate on a real behave suite: false alarms and detections, counted.

A suite with one once-per-run step (``Given the service is warmed up``, sleeping
``WARM_MS``) and many-times steps (short sleeps) runs in real behave subprocesses with
qhub's ``install()``; every run is then judged with ``qhub check`` against pinned baselines
(baseline files, so the same run can be checked against a 1-run and a 3-run baseline):

(a) A/A: ``--aa`` unchanged runs, each checked one by one -- every flagged item is a false
    alarm;
(b) the once-per-run step slowed 1.5x, 2x, 3x and 10x (``--warm-ms`` 30 by default, so
    every slowdown is at least 15 ms), ``--repeat`` current runs each -- detected when
    ``qhub check`` flags that step;
(c) the same after a line shift (a comment inserted at the top of the step file).

Side by side, the rule qhub used before (a one-sided Mann-Whitney test at alpha 0.01 on the
pooled samples, plus the same 20 % threshold and 2 ms floor) is applied to the very same
samples: the "before" columns.

    python bench/gate.py [--aa 20] [--repeat 5] [--warm-ms 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qhub.profiling.mannwhitney import mann_whitney_u  # noqa: E402

STEPS = """
import os
import time

from behave import given, then, when


@given("the service is warmed up")
def warm_up(context):
    time.sleep(float(os.environ["WARM_MS"]) / 1000)


@when("I fetch item {n:d}")
def fetch(context, n):
    time.sleep(0.002)


@then("item {n:d} has a price")
def price(context, n):
    time.sleep(0.001)
"""

ENV = """
from qhub.behave import install


def before_all(context):
    install(context)
"""

WARM_KEY = "features/steps/steps.py::given::the service is warmed up"
FACTORS = (1.5, 2.0, 3.0, 10.0)


def make_suite(root: Path) -> None:
    (root / "features/steps").mkdir(parents=True)
    (root / "features/steps/steps.py").write_text(STEPS)
    (root / "features/environment.py").write_text(ENV)
    lines = ["Feature: shop", "", "  Scenario: warm", "    Given the service is warmed up", ""]
    for s in range(10):
        lines.append(f"  Scenario: browse {s}")
        for i in range(5):
            lines += [f"    When I fetch item {i}", f"    Then item {i} has a price"]
        lines.append("")
    (root / "features/shop.feature").write_text("\n".join(lines))
    (root / "qhub.json").write_text(
        json.dumps(
            {
                "report": {"summary": False, "formats": ["json"]},
                "cache": {"enabled": False},
                "data": {"enabled": False},
            }
        )
    )


def env_for(warm_ms: float, baseline: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "GITHUB_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed qhub would run
    env["WARM_MS"] = f"{warm_ms:g}"
    env["PYTHONPATH"] = str(REPO)
    if baseline is not None:
        env["QHUB_PROFILING_BASELINE_FILE"] = str(baseline)
    return env


def behave(root: Path, warm_ms: float) -> dict[str, Any]:
    """One real behave run; returns its JSON report."""
    subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", "null", "--no-summary"],
        cwd=root, env=env_for(warm_ms), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads((root / "reports/qhub-report.json").read_text())  # type: ignore[no-any-return]


def qhub(root: Path, *args: str, baseline: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qhub", *args], cwd=root, env=env_for(0, baseline),
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def check(root: Path, baseline: Path) -> dict[str, Any]:
    """qhub's verdict on the newest run against ``baseline`` (a baseline file)."""
    proc = qhub(root, "check", "--format", "json", baseline=baseline)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def flagged(verdict: dict[str, Any]) -> list[str]:
    return [c["key"] for c in verdict["comparisons"] if c["verdict"] == "regression"]


def samples_of(report: dict[str, Any]) -> dict[str, list[float]]:
    """Pooled samples per item of one run's report (as the previous rule saw them)."""
    out: dict[str, list[float]] = {}
    for row in report["step_definitions"]:
        out[row["key"]] = list(row["samples_ms"])
    for s in report["scenarios"]:
        out.setdefault(s["key"], []).append(s["duration_ms"])
    return out


def before_rule(current: dict[str, list[float]], base_runs: list[dict[str, Any]]) -> list[str]:
    """The previous gate: Mann-Whitney (alpha 0.01) + median 20 % + 2 ms floor."""
    base: dict[str, list[float]] = {}
    for report in base_runs:
        for key, values in samples_of(report).items():
            base.setdefault(key, []).extend(values)
    out = []
    for key, cur in current.items():
        if key not in base:
            continue
        b, c = statistics.median(base[key]), statistics.median(cur)
        if c - b <= 2.0 or (b > 0 and (c - b) / b * 100 <= 20.0):
            continue
        if mann_whitney_u(cur, base[key]).p_greater < 0.01:
            out.append(key)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aa", type=int, default=20, help="unchanged runs checked (A/A)")
    parser.add_argument("--repeat", type=int, default=5, help="current runs per slowdown")
    parser.add_argument("--warm-ms", type=float, default=30.0, help="the once-per-run step")
    args = parser.parse_args()
    warm = args.warm_ms
    rows: list[tuple[str, str, str, int, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "suite"
        make_suite(root)
        behave(root, warm)  # warm-up: byte code, page cache (recorded, not used)
        base_reports = [behave(root, warm) for _ in range(3)]
        files = {}
        for n in (1, 3):
            if qhub(root, "baseline", "set", "--last", str(n)).returncode != 0:
                raise RuntimeError("baseline set failed")
            files[n] = Path(tmp) / f"baseline-{n}.json"
            if qhub(root, "baseline", "export", str(files[n])).returncode != 0:
                raise RuntimeError("baseline export failed")
        base_of = {1: base_reports[-1:], 3: base_reports}

        # (a) A/A
        alarms = {1: [0, 0], 3: [0, 0]}  # runs with a false alarm: qhub, before
        items = {1: [0, 0], 3: [0, 0]}
        compared = 0
        for _ in range(args.aa):
            report = behave(root, warm)
            current = samples_of(report)
            for n in (1, 3):
                verdict = check(root, files[n])
                compared += verdict["counts"]["compared"] if n == 3 else 0
                ours, theirs = flagged(verdict), before_rule(current, base_of[n])
                alarms[n][0] += bool(ours)
                alarms[n][1] += bool(theirs)
                items[n][0] += len(ours)
                items[n][1] += len(theirs)
        for n in (1, 3):
            rows.append(("(a) A/A, unchanged", "1.0x", f"{n}", args.aa, alarms[n][0],
                         alarms[n][1]))  # fmt: skip

        # (b) slowdowns, (c) after a line shift
        steps_file = root / "features/steps/steps.py"
        for label, shift in (("(b) slowed", False), ("(c) slowed + line shift", True)):
            if shift:
                steps_file.write_text("# a comment shifts every line below\n\n" + STEPS)
            for factor in FACTORS:
                found = {1: [0, 0], 3: [0, 0]}
                for _ in range(args.repeat):
                    report = behave(root, warm * factor)
                    current = samples_of(report)
                    for n in (1, 3):
                        found[n][0] += WARM_KEY in flagged(check(root, files[n]))
                        found[n][1] += WARM_KEY in before_rule(current, base_of[n])
                for n in (1, 3):
                    rows.append((label, f"{factor:g}x", f"{n}", args.repeat, found[n][0],
                                 found[n][1]))  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)

    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python},"
          f" load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print(f"once-per-run step {warm:g} ms; 10 scenarios x 10 many-times steps (1-2 ms);"
          f" {compared // max(1, args.aa)} items compared per run")  # fmt: skip
    print(f"{'experiment':<26} {'step':>5} {'base runs':>9} {'runs':>5}"
          f" {'qhub flagged':>13} {'before flagged':>15}")  # fmt: skip
    for label, factor, n, runs, ours, theirs in rows:
        print(f"{label:<26} {factor:>5} {n:>9} {runs:>5} {ours:>13} {theirs:>15}")
    print(
        f"A/A items flagged (false alarms) qhub/before: 1-run {items[1][0]}/{items[1][1]},"
        f" 3-run {items[3][0]}/{items[3][1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
