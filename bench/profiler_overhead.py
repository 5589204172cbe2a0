"""Profiler overhead: a 5,000-trivial-step suite, plain behave vs. behave with qhub install().

Each configuration runs in its own behave subprocess; rounds are interleaved so machine
noise hits both alike. What is timed is the run between the end of ``before_all`` and the
start of ``after_all`` (every feature, scenario, step and hook, with qhub's callbacks), so
interpreter start-up and report writing do not dilute the per-step figure.

    python bench/profiler_overhead.py [--rounds 5] [--steps 5000]

``--finish-only`` times the end of the run instead: ``BehaveObserver.finish()`` (building
the run document, recording it in history, analysing it, writing the default JSON and
HTML reports and the summary) for runs of 1,000 / 5,000 / 20,000 trivial steps, each run
a fresh behave subprocess with a fresh history. ``--before DIR`` adds the same runs with
the ``qhub`` package found in ``DIR`` (e.g. a copy of an older checkout) side by side:

    python bench/profiler_overhead.py --finish-only [--sizes 1000,5000,20000]
        [--distinct 1] [--before /tmp/qhub_before] [--rounds 3]
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

STEPS = """
from behave import given


@given("a trivial step")
def trivial(context):
    pass


@given("trivial step number {n:d}")
def numbered(context, n):
    pass
"""

ENV_PLAIN = """
import os, time


def before_all(context):
    context.bench_t0 = (time.perf_counter_ns(), time.process_time_ns())


def after_all(context):
    t1 = (time.perf_counter_ns(), time.process_time_ns())
    with open(os.environ["BENCH_OUT"], "w") as f:
        f.write(f"{t1[0] - context.bench_t0[0]} {t1[1] - context.bench_t0[1]}")
"""

ENV_PLAIN_HOOKS = (
    ENV_PLAIN
    + """

def before_step(context, step):
    pass


def after_step(context, step):
    pass
"""
)

ENV_QHUB = """
import os, time
from qhub.behave import install


def before_all(context):
    install(context)
    context.bench_t0 = (time.perf_counter_ns(), time.process_time_ns())


def after_all(context):
    t1 = (time.perf_counter_ns(), time.process_time_ns())
    with open(os.environ["BENCH_OUT"], "w") as f:
        f.write(f"{t1[0] - context.bench_t0[0]} {t1[1] - context.bench_t0[1]}")
"""

ENV_FINISH = """
import os, time
from qhub.behave import install
from qhub.profiling.observer import BehaveObserver

_finish = BehaveObserver.finish


def _timed_finish(self, stats, *args, **kwargs):
    t0 = time.perf_counter_ns()
    try:
        return _finish(self, stats, *args, **kwargs)
    finally:
        if not os.path.exists(os.environ["BENCH_OUT"]):
            with open(os.environ["BENCH_OUT"], "w") as f:
                f.write(f"{time.perf_counter_ns() - t0} 0")


BehaveObserver.finish = _timed_finish


def before_all(context):
    install(context)
"""

CONFIGS = {
    "plain behave": (ENV_PLAIN, {}),
    "plain + empty step hooks": (ENV_PLAIN_HOOKS, {}),
    "qhub (memory on)": (ENV_QHUB, {"profiling": {"memory": True}}),
    "qhub (RSS every step)": (ENV_QHUB, {"profiling": {"memory": True, "memory_interval_ms": 0}}),
    "qhub (memory off)": (ENV_QHUB, {"profiling": {"memory": False}}),
    "qhub (tracemalloc on)": (ENV_QHUB, {"profiling": {"memory": True, "tracemalloc": True}}),
}


def make_project(
    root: Path,
    env: str,
    config: dict[str, object],
    steps: int,
    *,
    distinct: int = 1,
    report: dict[str, object] | None = None,
) -> None:
    """A project of ``steps`` steps (100 per scenario) over ``distinct`` step texts."""
    (root / "features/steps").mkdir(parents=True)
    (root / "features/steps/steps.py").write_text(STEPS)
    (root / "features/environment.py").write_text(env)
    per_scenario = 100
    lines = ["Feature: overhead", ""]
    n = 0
    for s in range(steps // per_scenario):
        lines.append(f"  Scenario: s{s}")
        for _ in range(per_scenario):
            text = "a trivial step" if distinct <= 1 else f"trivial step number {n % distinct}"
            lines.append(f"    Given {text}")
            n += 1
        lines.append("")
    (root / "features/bench.feature").write_text("\n".join(lines))
    settings = {
        **config,
        "report": report or {"summary": False, "formats": ["json"]},
        "cache": {"enabled": False},
        "data": {"enabled": False},
    }
    (root / "qhub.json").write_text(json.dumps(settings))


def run_once(root: Path, formatter: str, pythonpath: str | None = None) -> float:
    """Wall seconds of the measured span (see :func:`run_once_cpu` for CPU time too)."""
    return run_once_cpu(root, formatter, pythonpath)[0]


def run_once_cpu(root: Path, formatter: str, pythonpath: str | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the behave process) of the measured span."""
    out = root / "elapsed.txt"
    out.unlink(missing_ok=True)
    shutil.rmtree(root / ".qhub", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QHUB_")}
    env["BENCH_OUT"] = str(out)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", "-f", formatter, "--no-summary"],
        cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wall, cpu = out.read_text().split()
    return int(wall) / 1e9, int(cpu) / 1e9


def finish_only(args: argparse.Namespace) -> int:
    """Time ``BehaveObserver.finish()`` per run size (and per qhub tree with ``--before``)."""
    sizes = [int(n) for n in args.sizes.split(",")]
    trees: dict[str, str | None] = {"now": None}
    if args.before:
        trees = {"before": str(Path(args.before).resolve()), **trees}
    report = {"summary": True}  # the defaults users get: JSON + HTML + terminal summary
    times: dict[tuple[str, int], list[float]] = {(t, n): [] for t in trees for n in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for n in sizes:
            roots[n] = Path(tmp) / f"f{n}"
            make_project(roots[n], ENV_FINISH, {}, n, distinct=args.distinct, report=report)
        for key in times:  # warm-up (bytecode, page cache), not counted
            run_once(roots[key[1]], args.format, trees[key[0]])
        for _ in range(args.rounds):
            for (tree, n), samples in times.items():
                samples.append(run_once(roots[n], args.format, trees[tree]))
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python}")
    print(
        f"BehaveObserver.finish() (history + JSON + HTML + summary), {args.distinct} distinct"
        f" step text(s), {args.rounds} interleaved rounds, median ms"
    )
    head = f"{'steps':>8} " + " ".join(f"{t + ' ms':>10}" for t in trees)
    print(head + (f" {'speed-up':>9}" if "before" in trees else ""))
    for n in sizes:
        meds = {t: statistics.median(times[(t, n)]) * 1000 for t in trees}
        line = f"{n:>8} " + " ".join(f"{meds[t]:>10.1f}" for t in trees)
        if "before" in trees:
            line += f" {meds['before'] / meds['now']:>8.2f}x"
        print(line)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument(
        "--format", default="null", help="behave formatter (output discarded); null = cheapest"
    )
    parser.add_argument("--finish-only", action="store_true", help="time finish() only")
    parser.add_argument("--sizes", default="1000,5000,20000", help="step counts (--finish-only)")
    parser.add_argument("--distinct", type=int, default=1, help="distinct step texts")
    parser.add_argument("--before", help="directory holding another qhub package to compare")
    args = parser.parse_args()
    if args.finish_only:
        return finish_only(args)
    own: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for i, (name, (env, config)) in enumerate(CONFIGS.items()):
            roots[name] = Path(tmp) / f"p{i}"
            make_project(roots[name], env, config, args.steps)
        times: dict[str, list[float]] = {name: [] for name in CONFIGS}
        cpu: dict[str, list[float]] = {name: [] for name in CONFIGS}
        for name in CONFIGS:  # warm-up (bytecode, page cache), not counted
            run_once(roots[name], args.format)
        for _ in range(args.rounds):
            for name in CONFIGS:
                wall_s, cpu_s = run_once_cpu(roots[name], args.format)
                times[name].append(wall_s)
                cpu[name].append(cpu_s)
        for name, root in roots.items():
            report = root / "reports/qhub-report.json"
            if report.exists():
                parts = json.loads(report.read_text())["attribution"]["parts"]
                ms = sum(p["ms"] for p in parts if p["name"] == "qhub_overhead")
                own[name] = ms * 1000 / args.steps
    plain = statistics.median(times["plain behave"])
    plain_cpu = statistics.median(cpu["plain behave"])
    plain_cpu_min = min(cpu["plain behave"])
    python = platform.python_version()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {python},"
        f" load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"{args.steps} trivial steps, behave -f {args.format}, {args.rounds} interleaved rounds,"
        " median time from end of before_all to start of after_all"
    )
    print(
        f"{'configuration':<24} {'run s':>8} {'us/step':>9} {'ratio':>7} {'added us/step':>14}"
        f" {'CPU us/step':>12} {'CPU ratio':>10} {'min CPU ratio':>14}"
        f" {'qhub callbacks us/step':>23}"
    )
    for name, samples in times.items():
        med = statistics.median(samples)
        med_cpu = statistics.median(cpu[name])
        per_step = med / args.steps * 1e6
        added = (med - plain) / args.steps * 1e6
        callbacks = f"{own[name]:.1f}" if name in own else "-"
        print(
            f"{name:<24} {med:>8.3f} {per_step:>9.1f} {med / plain:>7.3f} {added:>14.1f}"
            f" {med_cpu / args.steps * 1e6:>12.1f} {med_cpu / plain_cpu:>10.3f}"
            f" {min(cpu[name]) / plain_cpu_min:>14.3f} {callbacks:>23}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
