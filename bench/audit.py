"""Benchmark ``qhub audit``: audit speed on 2,000 generated step files (cold and warm
import-time cache), and behave's step loading before vs after ``--diff --write``, side by
side with the saving the audit predicted (as a ratio).

The start-up suite keeps its heavy imports where real suites do: behind helper modules
(page objects, API clients) as well as in step files, some imported by several files.
Step loading is measured two ways on the same runs: the wall time of ``behave --dry-run``
and the sum of ``-X importtime`` self times. Byte-code is written (as for an installed
package) and one warm-up run precedes the measured rounds.

Run: ``python bench/audit.py`` (a minute or two). Prints tables and the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qhub.audit import fixes, run_audit

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
        assert len(cold.files) == len(warm.files) == files + 1, (len(cold.files), files)
        return cold_s, min(warm_times), len(warm.findings)


STARTUP_FILES = {
    "features/environment.py": "from helpers.api import Client\n\n\n"
    "def before_all(context):\n    context.client_class = Client\n",
    "helpers/__init__.py": "",
    "helpers/api.py": "import json\nimport requests\n\n\nclass Client:\n"
    "    def get(self, url):\n        return requests.get(url, timeout=5)\n\n"
    "    def dump(self, data):\n        return json.dumps(data)\n",
    "helpers/pages.py": "import xml.dom.minidom\n\n\nclass Page:\n"
    "    def parse(self, text):\n        return xml.dom.minidom.parseString(text)\n",
}

STARTUP_STEPS = {
    "a_api.py": ("import requests\n", "requests.Session", "len"),
    "b_schema.py": ("import jsonschema\n", "jsonschema.Draft7Validator", "jsonschema.validate"),
    "c_yaml.py": ("import yaml\n", "yaml.safe_load", "yaml.safe_dump"),
    "d_mail.py": ("import email.mime.multipart\n", "email.mime.multipart.MIMEMultipart",
                  "len"),
    "e_schema_again.py": ("import jsonschema\n", "jsonschema.validate", "len"),
    "f_pages.py": ("from helpers.pages import Page\n", "Page", "len"),
    "g_decimal.py": ("import decimal\n", "decimal.Decimal", "len"),
    "h_http.py": ("import http.cookiejar\n", "http.cookiejar.CookieJar", "len"),
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
    for rel, text in STARTUP_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    lines = ["Feature: startup", "  Scenario: all"]
    for filename, (imports, use_a, use_b) in STARTUP_STEPS.items():
        name = filename[:-3]
        (steps / filename).write_text(STARTUP_STEP.format(
            imports=imports, name=name, use_a=use_a, use_b=use_b))
        lines += [f"    Given {name} is ready", f"    Then {name} works"]
    (root / "features" / "startup.feature").write_text("\n".join(lines) + "\n")


_TIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|")


def behave_once(root: Path) -> tuple[float, float]:
    """Wall seconds of ``behave --dry-run`` and the sum of its import self times (ms)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "behave", "--dry-run", "--no-summary",
         "--format=null", "features"], cwd=root, capture_output=True, text=True, check=False,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if "undefined" in proc.stdout.replace("0 undefined", "") or proc.returncode != 0:
        raise SystemExit(f"behave failed in {root}:\n{proc.stdout}{proc.stderr[-2000:]}")
    imports_us = sum(int(m.group(1)) for m in map(_TIME_LINE.match, proc.stderr.splitlines())
                     if m)
    return elapsed, imports_us / 1000.0


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
        times: dict[str, list[float]] = {"before": [], "after": [], "before-imports": [],
                                         "after-imports": []}
        for i in range(rounds):
            order = [("before", before), ("after", after)]
            for label, root in order if i % 2 == 0 else reversed(order):
                wall, imports_ms = behave_once(root)
                times[label].append(wall)
                times[f"{label}-imports"].append(imports_ms)
        return times, predicted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-speed", action="store_true", help="only the start-up part")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores (shared machine)")
    if not args.skip_speed:
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
    print(f"| measured saving (wall time) | {fastest:.0f} | {median:.0f} |")
    imp_b = min(times["before-imports"]), statistics.median(times["before-imports"])
    imp_a = min(times["after-imports"]), statistics.median(times["after-imports"])
    imp_fast, imp_median = imp_b[0] - imp_a[0], imp_b[1] - imp_a[1]
    print(f"| measured saving (-X importtime self times) | {imp_fast:.0f} | {imp_median:.0f} |")
    for mode, value in predicted.items():
        print(f"| saving predicted by the audit, {mode} | {value:.0f} | |")
    for mode, value in predicted.items():
        for name, measured in (("wall fastest", fastest), ("wall median", median),
                               ("importtime fastest", imp_fast),
                               ("importtime median", imp_median)):
            ratio = value / measured if measured > 0 else float("inf")
            print(f"predicted/measured ({mode}) vs {name}: {ratio:.2f}")

if __name__ == "__main__":
    main()
