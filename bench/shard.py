"""How even ``qhub shard``'s split is, on a suite with skewed durations.

Builds a suite in a temp folder: 200 scenarios in 20 feature files, most taking 20-120 ms
(a sleep), five taking 1.2-3 s, in two of the files. Records one unsharded run with qhub
(SQLite history), then for N = 2, 4, 8:

* plans N shards with ``qhub shard --format json`` (by scenario) and runs each shard as
  its own ``behave`` process (one after another: each stands for a CI runner of its own);
* does what people do by hand, one file in N to each shard in name order
  (``ls features/*.feature | awk "NR % N == i"``), and runs that too.

For both it prints the slowest shard's predicted time (from the recorded durations) and
measured wall time (the slowest shard's ``behave`` process, its start-up and qhub's
end-of-run report included), next to the lower
bound ``max(total / N, longest scenario)`` over the recorded durations, as ratios.

    python bench/shard.py            # ~3 minutes
    python bench/shard.py --n 2 4    # fewer shard counts
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = 20
PER_FILE = 10
LONG_MS = {(3, 0): 3000, (3, 5): 2500, (11, 2): 2000, (11, 7): 1500, (3, 9): 1200}
"""(file, scenario) -> ms for the few very long scenarios."""

STEPS = """
import time
from behave import when


@when("I wait {ms:d} ms")
def wait(context, ms):
    time.sleep(ms / 1000)
"""
ENVIRONMENT = """
from qhub.behave import install


def before_all(context):
    install(context)
"""


def build_suite(folder: Path) -> dict[str, float]:
    """The suite's feature files; returns the intended ms per scenario key."""
    rng = random.Random(16)
    (folder / "features" / "steps").mkdir(parents=True)
    (folder / "features" / "steps" / "wait.py").write_text(STEPS, encoding="utf-8")
    (folder / "features" / "environment.py").write_text(ENVIRONMENT, encoding="utf-8")
    intended: dict[str, float] = {}
    for f in range(FILES):
        lines = [f"Feature: file {f:02d}", ""]
        for s in range(PER_FILE):
            ms = LONG_MS.get((f, s), rng.randint(20, 120))
            intended[f"features/f{f:02d}.feature::s{s}"] = ms
            lines += [f"  Scenario: s{s}", f"    When I wait {ms} ms", ""]
        (folder / "features" / f"f{f:02d}.feature").write_text("\n".join(lines), encoding="utf-8")
    return intended


def env_for(folder: Path, history: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "CI_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as an installed qhub runs: byte-code written
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "QHUB_PROFILING_HISTORY_DB": str(history),
            "QHUB_REPORT_DIR": str(folder / "reports" / name),
            "QHUB_REPORT_SUMMARY": "false",
            "QHUB_CACHE_PATH": str(folder / ".qhub" / f"cache-{name}.db"),
        }
    )
    return env


def behave(folder: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "behave", "--no-color", "-f", "null", *args],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def run_each(folder: Path, shards: list[list[str]], name: str) -> list[float]:
    """Wall seconds of each shard's behave process, run one after another: each shard
    stands for a CI runner of its own (side by side on this 2-core machine they would
    measure this machine's core count, not the split)."""
    scratch = folder / ".qhub" / f"{name}.db"  # measured runs do not change the plan's history
    walls = []
    for i, args in enumerate(shards):
        started = time.perf_counter()
        proc = behave(folder, args, env_for(folder, scratch, f"{name}-{i}"))
        _, err = proc.communicate(timeout=600)
        walls.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"a shard failed: {err.decode(errors='replace')[-500:]}")
    return walls


def plan(folder: Path, history: Path, total: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "qhub", "shard", "--total", str(total), "--index", "1",
         "--format", "json"],
        cwd=folder, env=env_for(folder, history, "plan"), capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def recorded(history: Path) -> dict[str, float]:
    """Scenario durations (ms) of the recorded run, from qhub's own history."""
    sys.path.insert(0, str(ROOT))
    from qhub.profiling.history.sqlite import SQLiteHistory

    with SQLiteHistory(history, readonly=True) as h:
        [run] = h.runs(1)
        figures = h.figures([run.id])[run.id]
    return {k: v[0] for k, v in figures["scenario"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2, 4, 8])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qhub-bench-shard-") as tmp:
        folder = Path(tmp)
        build_suite(folder)
        history = folder / ".qhub" / "history.db"
        print("recording one unsharded run ...", file=sys.stderr)
        warm = behave(folder, ["features/f00.feature"], env_for(folder, folder / "w.db", "warm"))
        warm.communicate(timeout=600)
        started = time.perf_counter()
        first = behave(folder, [], env_for(folder, history, "record"))
        first.communicate(timeout=600)
        serial_s = time.perf_counter() - started
        durations = recorded(history)
        by_file: dict[str, float] = {}
        for key, ms in durations.items():
            file = key.split("::")[0]
            by_file[file] = by_file.get(file, 0.0) + ms
        total_ms, longest_ms = sum(durations.values()), max(durations.values())
        print(
            f"suite: {len(durations)} scenarios in {len(by_file)} files, recorded total"
            f" {total_ms / 1000:.2f} s, longest {longest_ms / 1000:.2f} s, serial run"
            f" {serial_s:.2f} s wall (start-up included)\n"
        )
        print(
            "| N | lower bound s | qhub predicted s (/ bound) | qhub measured s (/ bound) |"
            " by file count predicted s (/ bound) | by file count measured s (/ bound) |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        files = sorted(by_file)
        for n in args.n:
            bound = max(total_ms / n, longest_ms)
            made = plan(folder, history, n)
            shards = [list(s) for s in made["shards"]]  # type: ignore[attr-defined]
            predicted = max(made["predicted"])  # type: ignore[call-overload]
            measured = max(run_each(folder, [s or ["--include=^none$"] for s in shards],
                                            f"qhub{n}"))  # fmt: skip
            by_count = [[f for i, f in enumerate(files) if i % n == k] for k in range(n)]
            count_predicted = max(sum(by_file[f] for f in s) for s in by_count)
            count_measured = max(run_each(folder, by_count, f"count{n}"))
            b = bound / 1000
            print(
                f"| {n} | {b:.2f} | {predicted / 1000:.2f} ({predicted / bound:.3f}) |"
                f" {measured:.2f} ({measured / b:.2f}) |"
                f" {count_predicted / 1000:.2f} ({count_predicted / bound:.2f}) |"
                f" {count_measured:.2f} ({count_measured / b:.2f}) |"
            )


if __name__ == "__main__":
    main()
