"""Requests per second of qhub's APIClient next to the plain ways of calling an HTTP API.

Side by side, in one run, over plain HTTP and HTTPS (a trustme certificate) on loopback,
against the demo API served by a *separate process* (fair on a 2-core machine):

- ``fresh``     a new ``requests.get`` per call (a new TCP + TLS connection every time)
- ``session``   one plain ``requests.Session``
- ``client``    ``qhub.APIClient`` (``BaseAPIClient``), short path on (the default)
- ``no_short``  the same client with ``short_path=False`` (every request via the Session)
- ``urllib3``   a bare persistent ``urllib3.HTTPConnectionPool(maxsize=1)`` sending the same
                headers: the practical limit for Python on this machine

Variants take turns in short time-boxed rounds; medians are reported, and each ratio is
the median of the ratios measured within one round (same load on the machine). Because the
server runs in another process, this process's CPU time per request (``time.process_time``)
is what the client side costs; it is printed for BaseAPIClient and bare urllib3, and their
difference is qhub's own per-request work (less noisy than wall-clock rates).
Run: ``python bench/api_client.py [--rounds 5] [--seconds 0.5]`` (about a minute).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import requests
import trustme
import urllib3

from qhub.api import APIClient

PATH = "/health"


def start_server(cert: Path | None, key: Path | None) -> tuple[subprocess.Popen[str], str]:
    """The demo API in its own process; returns the process and its URL."""
    args = [sys.executable, "-m", "qhub.demo", "--port", "0"]
    if cert and key:
        args += ["--cert", str(cert), "--key", str(key)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"demo server did not start: {url!r}")
    return proc, url


def rate(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second over about ``seconds``, and this process's CPU µs per call."""
    call()
    n = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(20):
            call()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - started), (time.process_time() - cpu_started) / n * 1e6


Variant = tuple[Callable[[], object], Callable[[], None]]


def variants(url: str, ca: str | None) -> dict[str, Variant]:
    """name -> (one call, cleanup)."""
    verify: bool | str = ca or True
    target = url + PATH
    session = requests.Session()
    session.verify = verify
    client = APIClient(url, enable_connection_warmup=False, ca_bundle=ca)
    no_short = APIClient(url, enable_connection_warmup=False, ca_bundle=ca, short_path=False)
    scheme, rest = url.split("://")
    host, port = rest.split(":")
    headers = {name: str(value) for name, value in session.headers.items()}
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            host, int(port), maxsize=1, cert_reqs="CERT_REQUIRED", ca_certs=ca
        )
    else:
        pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1)

    def fresh() -> object:
        return requests.get(target, verify=verify, timeout=10).content

    def plain_session() -> object:
        # per call: a REQUESTS_CA_BUNDLE in the environment would override session.verify
        return session.get(target, verify=verify, timeout=10).content

    def qhub_client() -> object:
        return client.get(PATH).content

    def qhub_no_short() -> object:
        return no_short.get(PATH).content

    def close_client() -> None:
        paths = client.stats()["paths"]
        client.close()
        # the figures are the short path's only if it served every request
        assert paths["session"] == 0 and paths["short"] > 0, paths

    def bare() -> object:
        return pool.request("GET", PATH, headers=headers, timeout=10).data

    return {
        "fresh": (fresh, lambda: None),
        "session": (plain_session, session.close),
        "client": (qhub_client, close_client),
        "no_short": (qhub_no_short, no_short.close),
        "urllib3": (bare, pool.close),
    }


def measure(url: str, ca: str | None, rounds: int, seconds: float) -> dict[str, float]:
    """Median requests/s per variant, and median per-round ratios.

    Variants take turns in short boxes, so a load spike from other processes hits all of
    them alike; ratios are taken within a round, where the load was the same.
    """
    chosen = variants(url, ca)
    samples: dict[str, list[float]] = {name: [] for name in chosen}
    cpu: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(rounds):
        for name, (call, _close) in chosen.items():
            # fresh connections are slow: a shorter box keeps the run near a minute
            per_s, cpu_us = rate(call, seconds / 2 if name == "fresh" else seconds)
            samples[name].append(per_s)
            cpu[name].append(cpu_us)
    for _call, close in chosen.values():
        close()
    out = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("client", "urllib3"):
        out[f"cpu_{name}"] = statistics.median(cpu[name])
    out["cpu_overhead"] = statistics.median(
        c - u for c, u in zip(cpu["client"], cpu["urllib3"], strict=True)
    )
    for other in ("urllib3", "fresh", "session", "no_short"):
        out[f"client/{other}"] = statistics.median(
            c / o for c, o in zip(samples["client"], samples[other], strict=True)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=0.2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca_path, cert_path = Path(tmp, "ca.pem"), Path(tmp, "cert.pem")
        key_path = Path(tmp, "key.pem")
        ca.cert_pem.write_to_path(str(ca_path))
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))

        results: dict[str, dict[str, float]] = {}
        for label, (c, k, bundle) in {
            "http": (None, None, None),
            "https": (cert_path, key_path, str(ca_path)),
        }.items():
            proc, url = start_server(c, k)
            try:
                results[label] = measure(url, bundle, args.rounds, args.seconds)
            finally:
                proc.kill()
                proc.wait()

    print(f"python {sys.version.split()[0]}, requests {requests.__version__}, "
          f"urllib3 {version('urllib3')}; GET {PATH} on 127.0.0.1, server in another process; "
          f"medians of {args.rounds} interleaved rounds (ratios: per round)")
    print()
    print("| transport | fresh requests.get | requests.Session | APIClient | APIClient, "
          "short path off | bare urllib3 | client / urllib3 | client / fresh "
          "| client / Session | short path on / off |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results.items():
        print(
            f"| {label} | {r['fresh']:.0f}/s | {r['session']:.0f}/s | {r['client']:.0f}/s "
            f"| {r['no_short']:.0f}/s | {r['urllib3']:.0f}/s | {r['client/urllib3']:.2f}x "
            f"| {r['client/fresh']:.1f}x | {r['client/session']:.2f}x "
            f"| {r['client/no_short']:.2f}x |"
        )
    print()
    print("| transport | client CPU / request | urllib3 CPU / request | qhub's own CPU / request |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        print(f"| {label} | {r['cpu_client']:.0f} µs | {r['cpu_urllib3']:.0f} µs "
              f"| {r['cpu_overhead']:.0f} µs |")


if __name__ == "__main__":
    main()
