"""Profiler overhead: a 5,000-trivial-step suite, plain behave vs. behave with qhub install().

Each configuration runs in its own behave subprocess; rounds are interleaved so machine
noise hits both alike. What is timed is the run between the end of ``before_all`` and the
start of ``after_all`` (every feature, scenario, step and hook, with qhub's callbacks), so
interpreter start-up and report writing do not dilute the per-step figure.

    python bench/profiler_overhead.py [--rounds 5] [--steps 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS = """
from behave import given


@given("a trivial step")
def trivial(context):
    pass
"""

ENV_PLAIN = """
import os, time


def before_all(context):
    context.bench_t0 = time.perf_counter_ns()


def after_all(context):
    t1 = time.perf_counter_ns()
    with open(os.environ["BENCH_OUT"], "w") as f:
        f.write(str(t1 - context.bench_t0))
"""

ENV_PLAIN_HOOKS = ENV_PLAIN + """

def before_step(context, step):
    pass


def after_step(context, step):
    pass
"""

ENV_QHUB = """
import os, time
from qhub.behave import install


def before_all(context):
    install(context)
    context.bench_t0 = time.perf_counter_ns()


def after_all(context):
    t1 = time.perf_counter_ns()
    with open(os.environ["BENCH_OUT"], "w") as f:
        f.write(str(t1 - context.bench_t0))
"""

CONFIGS = {
    "plain behave": (ENV_PLAIN, {}),
    "plain + empty step hooks": (ENV_PLAIN_HOOKS, {}),
    "qhub (memory on)": (ENV_QHUB, {"profiling": {"memory": True}}),
    "qhub (memory off)": (ENV_QHUB, {"profiling": {"memory": False}}),
    "qhub (tracemalloc on)": (ENV_QHUB, {"profiling": {"memory": True, "tracemalloc": True}}),
}


def make_project(root: Path, env: str, config: dict[str, object], steps: int) -> None:
    (root / "features/steps").mkdir(parents=True)
    (root / "features/steps/steps.py").write_text(STEPS)
    (root / "features/environment.py").write_text(env)
    per_scenario = 100
    lines = ["Feature: overhead", ""]
    for s in range(steps // per_scenario):
        lines.append(f"  Scenario: s{s}")
        lines.extend(["    Given a trivial step"] * per_scenario)
        lines.append("")
    (root / "features/bench.feature").write_text("\n".join(lines))
    settings = {
        **config,
        "report": {"summary": False, "formats": ["json"]},
        "cache": {"enabled": False},
        "data": {"enabled": False},
    }
    (root / "qhub.json").write_text(json.dumps(settings))


def run_once(root: Path, formatter: str) -> float:
    out = root / "elapsed.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}
    env["BENCH_OUT"] = str(out)
    subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", formatter, "--no-summary"],
        cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return int(out.read_text()) / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument(
        "--format", default="null", help="behave formatter (output discarded); null = cheapest"
    )
    args = parser.parse_args()
    own: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for i, (name, (env, config)) in enumerate(CONFIGS.items()):
            roots[name] = Path(tmp) / f"p{i}"
            make_project(roots[name], env, config, args.steps)
        times: dict[str, list[float]] = {name: [] for name in CONFIGS}
        for name in CONFIGS:  # warm-up (bytecode, page cache), not counted
            run_once(roots[name], args.format)
        for _ in range(args.rounds):
            for name in CONFIGS:
                times[name].append(run_once(roots[name], args.format))
        for name, root in roots.items():
            report = root / "reports/qhub-report.json"
            if report.exists():
                parts = json.loads(report.read_text())["attribution"]["parts"]
                ms = sum(p["ms"] for p in parts if p["name"] == "qhub_overhead")
                own[name] = ms * 1000 / args.steps
    plain = statistics.median(times["plain behave"])
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python}")
    print(
        f"{args.steps} trivial steps, behave -f {args.format}, {args.rounds} interleaved rounds,"
        " median time from end of before_all to start of after_all"
    )
    print(
        f"{'configuration':<24} {'run s':>8} {'us/step':>9} {'ratio':>7} {'added us/step':>14}"
        f" {'qhub callbacks us/step':>23}"
    )
    for name, samples in times.items():
        med = statistics.median(samples)
        per_step = med / args.steps * 1e6
        added = (med - plain) / args.steps * 1e6
        callbacks = f"{own[name]:.1f}" if name in own else "-"
        print(
            f"{name:<24} {med:>8.3f} {per_step:>9.1f} {med / plain:>7.3f} {added:>14.1f}"
            f" {callbacks:>23}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
