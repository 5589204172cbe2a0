"""Requests per second ``qhub stress`` sustains, side by side with a hand-written loop.

The demo API (``python -m qhub.demo``) runs in its own process. Against it, in interleaved
rounds of the same length and the same number of concurrent users:

- ``qhub stress``: a real subprocess running a behave scenario of two requests
  (``GET /health`` and ``GET /pets``, each checked for status 200) through the pooled
  client, with every request, step and scenario measured into histograms;
- a hand-written loop: one ``requests.Session`` per thread making the same two requests and
  checking the same statuses, counting nothing else (the practical ceiling for a Python
  client on this machine).

The ratio (qhub / loop) is the share of the ceiling that qhub's stress mode sustains: what
behave's scenario machinery and qhub's measurements cost under load. Byte-code is written
(``PYTHONDONTWRITEBYTECODE`` unset) and a warm-up round runs first.

    python bench/stress.py                 # users 1, 4 and 16; 3 rounds of 5 s
    python bench/stress.py --users 8 --rounds 5 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

FEATURE = """
Feature: Load
  Scenario: two requests
    When I GET "/health"
    Then the response status is 200
    When I GET "/pets"
    Then the response status is 200
"""

ENVIRONMENT = """
from qhub.behave import install


def before_all(context):
    install(context)
"""


def _env(root: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "STRESS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "QHUB_API_BASE_URL": url,
            "QHUB_REPORT_DIR": str(root / "reports"),
            "QHUB_PROFILING_HISTORY_DB": str(root / "history.db"),
            "QHUB_CACHE_BACKEND": "memory",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def qhub_rate(root: Path, url: str, users: int, seconds: float) -> float:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qhub",
            "stress",
            "--users",
            str(users),
            "--duration",
            str(seconds),
            "--grace",
            "0",
            "--format",
            "json",
            "--no-progress",
        ],
        cwd=root,
        env=_env(root, url),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert report["requests"]["errors"] == 0, report["requests"]
    return float(report["requests"]["count"]) / float(report["elapsed_s"])


def loop_rate(url: str, users: int, seconds: float) -> float:
    counts = [0] * users
    stop = threading.Event()

    def user(index: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            for path in ("/health", "/pets"):
                response = session.get(url + path, timeout=30)
                assert response.status_code == 200
                counts[index] += 1

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "features" / "steps").mkdir(parents=True)
        (root / "features" / "load.feature").write_text(FEATURE)
        (root / "features" / "environment.py").write_text(textwrap.dedent(ENVIRONMENT))
        (root / "features" / "steps" / "steps.py").write_text("from qhub.steps import *\n")
        server = subprocess.Popen(
            [sys.executable, "-m", "qhub.demo"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            qhub_rate(root, url, 2, 1.0)  # warm-up: byte-code, imports
            print(f"demo API at {url} (own process); {args.rounds} rounds of {args.seconds:g} s")
            print(f"{'users':>5} {'qhub stress':>12} {'hand loop':>10} {'ratio':>7}")
            for users in args.users:
                ours, theirs, ratios = [], [], []
                for _ in range(args.rounds):
                    a = qhub_rate(root, url, users, args.seconds)
                    b = loop_rate(url, users, args.seconds)
                    ours.append(a)
                    theirs.append(b)
                    ratios.append(a / b)
                mine, loop = statistics.median(ours), statistics.median(theirs)
                print(
                    f"{users:>5} {mine:>10.0f}/s {loop:>8.0f}/s {statistics.median(ratios):>6.2f}x"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
