"""Benchmark ``qhub audit``: audit speed on 2,000 generated step files (cold and warm
import-time cache), and behave start-up before vs after applying ``--diff --write``,
compared with the saving the audit predicted.

Run: ``python bench/audit.py`` (about a minute). Prints a table and the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qhub.imports import fixes, run_audit

POOL = [
    # (import statement, name used in a step) - stdlib and installed third-party modules
    ("import json", "json.dumps"),
    ("import decimal", "decimal.Decimal"),
    ("import xml.dom.minidom", "xml.dom.minidom.parseString"),
    ("import email.mime.multipart", "email.mime.multipart.MIMEMultipart"),
    ("import http.client", "http.client.HTTPConnection"),
    ("import requests", "requests.get"),
    ("import yaml", "yaml.safe_load"),
    ("import jsonschema", "jsonschema.validate"),
    ("import urllib3", "urllib3.PoolManager"),
    ("import csv", "csv.reader"),
]

STEP_FILE = '''{imports}
from behave import given, when, then


@given("file {i} has {{n:d}} items")
def step_given_{i}(context, n):
    context.items = {use_a}


@when("file {i} processes them")
def step_when_{i}(context):
    context.out = {use_b}


@then("file {i} is done")
def step_then_{i}(context):
    assert context.out is not None
'''


def make_big_suite(root: Path, files: int) -> None:
    steps = root / "steps"
    steps.mkdir(parents=True)
    (root / "features").mkdir()
    (root / "environment.py").write_text("import os\n\n\ndef before_all(context):\n"
                                         "    context.cwd = os.getcwd()\n")
    for i in range(files):
        a = POOL[i % len(POOL)]
        b = POOL[(i * 7 + 3) % len(POOL)]
        imports = a[0] if a == b else f"{a[0]}\n{b[0]}"
        (steps / f"step_{i:04d}.py").write_text(STEP_FILE.format(
            i=i, imports=imports, use_a=a[1], use_b=b[1]))
    lines = ["Feature: big", "  Scenario: some"]
    for i in range(0, files, 50):
        lines += [f"    Given file {i} has 3 items", f"    When file {i} processes them",
                  f"    Then file {i} is done"]
    (root / "features" / "big.feature").write_text("\n".join(lines) + "\n")


def bench_audit_speed(files: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="qhub-bench-audit-") as tmp:
        root = Path(tmp)
        make_big_suite(root, files)
        cache = root / "cache"
        started = time.perf_counter()
        cold = run_audit([], root=root, cache_dir=cache)
        cold_s = time.perf_counter() - started
        warm_times = []
        for _ in range(3):
            started = time.perf_counter()
            warm = run_audit([], root=root, cache_dir=cache)
            warm_times.append(time.perf_counter() - started)
        assert len(cold.files) == len(warm.files) == files + 1
        return cold_s, min(warm_times), len(warm.findings)


STARTUP_STEPS = {
    "a_api.py": ('import requests\nimport json\n', 'requests.Session', 'json.dumps'),
    "b_schema.py": ('import jsonschema\n', 'jsonschema.Draft7Validator', 'jsonschema.validate'),
    "c_yaml.py": ('import yaml\n', 'yaml.safe_load', 'yaml.safe_dump'),
    "d_mail.py": ('import email.mime.multipart\n', 'email.mime.multipart.MIMEMultipart',
                  'len'),
    "e_api_again.py": ('import requests\n', 'requests.get', 'len'),
    "f_xml.py": ('import xml.dom.minidom\n', 'xml.dom.minidom.parseString', 'len'),
    "g_decimal.py": ('import decimal\n', 'decimal.Decimal', 'len'),
    "h_http.py": ('import http.cookiejar\n', 'http.cookiejar.CookieJar', 'len'),
}

STARTUP_STEP = '''{imports}from behave import given, then


@given("{name} is ready")
def step_ready_{name}(context):
    context.thing = {use_a}


@then("{name} works")
def step_works_{name}(context):
    assert {use_b} is not None
'''


def make_startup_suite(root: Path) -> None:
    steps = root / "features" / "steps"
    steps.mkdir(parents=True)
    (root / "features" / "environment.py").write_text("def before_all(context):\n    pass\n")
    lines = ["Feature: startup", "  Scenario: all"]
    for filename, (imports, use_a, use_b) in STARTUP_STEPS.items():
        name = filename[:-3]
        (steps / filename).write_text(STARTUP_STEP.format(
            imports=imports, name=name, use_a=use_a, use_b=use_b))
        lines += [f"    Given {name} is ready", f"    Then {name} works"]
    (root / "features" / "startup.feature").write_text("\n".join(lines) + "\n")


def behave_once(root: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "behave", "--dry-run", "--no-summary", "--format=null",
         "features"], cwd=root, capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - started
    if "undefined" in proc.stdout.replace("0 undefined", "") or proc.returncode != 0:
        raise SystemExit(f"behave failed in {root}:\n{proc.stdout}{proc.stderr}")
    return elapsed


def bench_startup(rounds: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="qhub-bench-startup-") as tmp:
        before = Path(tmp) / "before"
        after = Path(tmp) / "after"
        make_startup_suite(before)
        make_startup_suite(after)
        predicted = {
            "default (--jobs 0: half the cores)": run_audit(
                [], root=after, cache_dir=Path(tmp) / "c2").saving_ms,
            "--jobs 2 (all cores)": run_audit(
                [], root=after, cache_dir=Path(tmp) / "c1", jobs=2).saving_ms,
        }
        result = run_audit([], root=after, cache_dir=Path(tmp) / "c2")
        written = fixes.write(fixes.plan_all(result))
        assert written, "the audit found nothing to move"
        for root in (before, after):  # warm the OS file cache and .pyc files
            behave_once(root)
        times: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(rounds):
            order = [("before", before), ("after", after)]
            for label, root in order if i % 2 == 0 else reversed(order):
                times[label].append(behave_once(root))
        return times, predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores (shared machine)")
    cold_s, warm_s, findings = bench_audit_speed(args.files)
    print(f"\naudit of {args.files} generated step files ({findings} findings)")
    print("| run | seconds | files/s |")
    print("|---|---:|---:|")
    print(f"| cold (import-time cache empty) | {cold_s:.2f} | {args.files / cold_s:,.0f} |")
    print(f"| warm (import-time cache filled) | {warm_s:.2f} | {args.files / warm_s:,.0f} |")
    times, predicted = bench_startup(args.rounds)
    print(f"\nbehave --dry-run start-up, {len(STARTUP_STEPS)} step files, "
          f"{args.rounds} interleaved rounds each")
    print("| suite | fastest ms | median ms |")
    print("|---|---:|---:|")
    stats = {}
    for label in ("before", "after"):
        stats[label] = (min(times[label]) * 1000, statistics.median(times[label]) * 1000)
    print(f"| before `qhub audit --diff --write` | {stats['before'][0]:.0f} | "
          f"{stats['before'][1]:.0f} |")
    print(f"| after | {stats['after'][0]:.0f} | {stats['after'][1]:.0f} |")
    fastest = stats["before"][0] - stats["after"][0]
    median = stats["before"][1] - stats["after"][1]
    print(f"| measured saving | {fastest:.0f} | {median:.0f} |")
    for mode, value in predicted.items():
        print(f"| saving predicted by the audit, {mode} | {value:.0f} | |")
    for mode, value in predicted.items():
        for name, measured in (("fastest", fastest), ("median", median)):
            error = abs(value - measured) / measured * 100 if measured > 0 else float("inf")
            print(f"prediction error ({mode}) vs {name} saving: {error:.0f}%")

if __name__ == "__main__":
    main()
