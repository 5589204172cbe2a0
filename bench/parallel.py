"""The reference suite's qhub variant under behavex workers sharing one Redis.

Runs the suite twice against a fresh redis-server of its own (free port) and the demo API
over HTTPS: once serially with ``behave``, once with ``behavex --parallel-processes N``
(no variable set: qhub finds the workers of one behavex run by itself). Then checks, from
qhub's own reports, history and Redis:

* every scenario has the same status in both runs;
* the parallel run is one qhub run: one summary, one history row, one report covering
  every part and scenario;
* test data was generated once per key across all workers: the workers' data misses add
  up to the number of data entries in Redis (a second worker generating the same key
  would add a miss without adding an entry).

    python bench/parallel.py                          # 4 workers, one feature per task
    python bench/parallel.py --scheme scenario        # one scenario per task
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _suite_server import SuiteServer  # noqa: E402
from run import SUITE, WORK, base_env, prepare_workdir, variant_env  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    """A private redis-server on a free port (never the shared 6379)."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def data_keys(self) -> list[str]:
        """Stored test-data entries (not templates, locks or other namespaces)."""
        keys = [k.decode() for k in self.client.scan_iter("*")]
        return sorted(k for k in keys if ":data:" in k and ":tpl:" not in k and "lock" not in k)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def qhub_report(folder: Path) -> dict[str, Any]:
    reports = list((folder / "reports").glob("*.json"))
    if len(reports) != 1:
        raise SystemExit(f"expected one qhub JSON report in {folder / 'reports'}, got {reports}")
    data = json.loads(reports[0].read_text())
    assert isinstance(data, dict)
    return data


def worker_stats(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-part stats of a report (a single run's stats are not keyed by part)."""
    stats = report.get("stats", {})
    if not report["run"].get("parts"):
        return [stats]
    return [s for s in stats.values() if isinstance(s, dict)]


def history_rows(folder: Path) -> list[tuple[str, int]]:
    import sqlite3

    with sqlite3.connect(folder / ".qhub/history.db") as db:
        return [(str(r), int(n)) for r, n in db.execute("SELECT id, parts FROM runs")]


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: s["status"] for s in report["scenarios"]}


def run_once(cmd: list[str], folder: Path, env: dict[str, str]) -> tuple[int, float, str]:
    for old in ("reports", ".qhub"):
        shutil.rmtree(folder / old, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, time.perf_counter() - started, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--scheme", choices=("feature", "scenario"), default="feature")
    args = parser.parse_args(argv)
    features = sorted(p.name for p in (SUITE / "features").glob("*.feature"))
    redis_srv = Redis(WORK / "redis")
    results: dict[str, Any] = {}
    try:
        with SuiteServer(WORK / "tls") as server:
            folder = prepare_workdir("qhub", features)
            env = variant_env("qhub", folder, base_env(server))
            env.update({"QHUB_CACHE_BACKEND": "redis", "QHUB_REDIS_URL": redis_srv.url})
            runs = {
                "serial": [sys.executable, "-m", "behave", "--no-color", "-f", "null", "features"],
                "parallel": [
                    sys.executable,
                    "-m",
                    "behavex",
                    "--no-color",
                    "--parallel-processes",
                    str(args.processes),
                    "--parallel-scheme",
                    args.scheme,
                    "-o",
                    str(folder.parent / "behavex-output"),
                    "features",
                ],
            }
            for name, cmd in runs.items():
                redis_srv.client.flushall()
                server.reset()
                run_env = {k: v for k, v in env.items() if k != "QHUB_RUN_ID"}
                run_env["TMPDIR"] = "/tmp"  # behavex points TEMP at its output folder
                code, wall, output = run_once(cmd, folder, run_env)
                report = qhub_report(folder)
                workers = worker_stats(report)
                results[name] = {
                    "exit": code,
                    "wall_s": wall,
                    "report": report,
                    "workers": len(workers),
                    "data_misses": sum(w.get("data", {}).get("misses", 0) for w in workers),
                    "data_hits": sum(w.get("data", {}).get("hits", 0) for w in workers),
                    "template_parses": sum(
                        w.get("data", {}).get("template_parse_misses", 0) for w in workers
                    ),
                    "data_keys": len(redis_srv.data_keys()),
                    "summaries": output.count("qhub: run "),
                    "history": history_rows(folder),
                    "output_tail": "\n".join(output.strip().splitlines()[-6:]),
                }
    finally:
        redis_srv.stop()

    serial, parallel = results["serial"], results["parallel"]
    same = statuses(serial["report"]) == statuses(parallel["report"])
    totals = parallel["report"]["totals"]
    checks = [
        ("serial run passed", serial["exit"] == 0),
        ("parallel run passed", parallel["exit"] == 0),
        ("same status for every scenario", same),
        (
            "one merged report covers all scenarios",
            totals["scenarios"] == serial["report"]["totals"]["scenarios"]
            and parallel["report"]["run"]["group_source"] == "behavex",
        ),
        (
            "merged report lists every part",
            len(parallel["report"]["run"]["parts"]) == parallel["workers"],
        ),
        (
            "one summary, one history row",
            parallel["summaries"] == 1 and len(parallel["history"]) == 1,
        ),
        (
            "data generated once per key (misses == entries)",
            parallel["data_misses"] == parallel["data_keys"],
        ),
        ("serial run: data generated once per key", serial["data_misses"] == serial["data_keys"]),
    ]
    print(
        f"behavex --parallel-processes {args.processes} --parallel-scheme {args.scheme}, "
        f"Redis backend, {len(features)} feature files"
    )
    print(
        "| run | exit | wall s | qhub parts merged | scenarios | data misses | data hits | "
        "data keys in Redis | template parses |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['exit']} | {r['wall_s']:.1f} | {r['workers']} | "
            f"{r['report']['totals']['scenarios']} | {r['data_misses']} | {r['data_hits']} | "
            f"{r['data_keys']} | {r['template_parses']} |"
        )
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    if not all(ok for _, ok in checks):
        for name, r in results.items():
            print(f"--- {name} output (tail)\n{r['output_tail']}")
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
