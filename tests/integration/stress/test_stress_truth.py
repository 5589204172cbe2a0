"""qhub's percentiles against the server's own records of the same requests.

The server adds known delays and times each request itself (request line read to response
written). qhub measures around the client call, so its figures are the server's plus the
loopback round trip, the client's own work and the time the client waits for a CPU after
the response arrives. So qhub's p-th percentile must be:

- never below the server's (beyond the 0.1 % of an HDR bucket), and
- above it by at most ``5 ms + 10 % + JITTER(q)``, where ``JITTER(q)`` is how late the
  server's own sleeps woke up at that percentile (its recorded time minus the delay it meant
  to add, both at percentile q): the client waits for a CPU after each response as the
  server's sleep does, so the bound widens with the scheduling delay the server itself
  measured. The 5 ms + 10 % is the client stack's own work on a loaded machine: a plain
  ``requests.Session`` loop measured +0.7 to +4.6 ms at p50 against the same server on the
  shared 2-core machine these tests were written on (load average 5).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.stress.conftest import (
    TruthServer,
    endpoint,
    make_project,
    nearest_rank,
    run_stress,
)

pytestmark = pytest.mark.behave_matrix

SLACK_MS = 5.0
SLACK_FRACTION = 0.10
HDR_SLACK = 1.001
ATTEMPTS = 3

FEATURES = {
    "truth.feature": """
        Feature: Known delays
          @fixed
          Scenario: a fixed 20 ms
            When I GET "/fixed"
            Then the response status is 200

          @bimodal
          Scenario: mostly 5 ms, every tenth 100 ms
            When I GET "/bimodal"
            Then the response status is 200

          @stall
          Scenario: usually quick
            When I GET "/stall"
            Then the response status is 200
        """
}


def _problems(row: dict[str, float], server: list[float], nominal: list[float]) -> list[str]:
    """Upper-bound misses (noise-sensitive); the lower bound is asserted outright."""
    missed = []
    for q in (50, 95, 99):
        ours, truth = row[f"p{q}_ms"], nearest_rank(server, q)
        jitter = max(0.0, truth - nearest_rank(nominal, q))
        assert ours * HDR_SLACK >= truth, (q, ours, truth)
        bound = truth * (1 + SLACK_FRACTION) + jitter + SLACK_MS
        if ours > bound:
            missed.append(f"p{q}: qhub {ours} ms > server {truth:.3f} ms -> bound {bound:.3f} ms")
    return missed


def test_percentiles_agree_with_the_servers_records(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    """p50/p95/p99 per endpoint, and over all requests together, match the server's own
    service times within the tolerance; the bimodal endpoint's modes are where they are.

    A burst of CPU starvation of the client process (other jobs on a shared machine) can
    push a tail percentile past the upper bound for one run, so up to ATTEMPTS runs are made
    and one must agree everywhere; every run must meet the lower bound and the counts. A
    real error in qhub's percentiles (units, averaging, lost samples) fails every run.
    """
    misses: list[list[str]] = []
    for attempt in range(ATTEMPTS):
        project = make_project(tmp_path / f"run{attempt}", FEATURES)
        truth_server.clear()
        result = run_stress(
            project,
            "--users",
            "2",
            "--iterations",
            "100",
            "--",
            "--tags",
            "@fixed,@bimodal",
            base_url=truth_server.url,
        )
        assert result.returncode == 0, result.output
        report = result.report
        assert report is not None
        missed: list[str] = []
        for path in ("/fixed", "/bimodal"):
            row = endpoint(report, f"GET {path}")
            server = truth_server.service_ms(path)
            assert row["count"] == len(server) == 200
            missed += _problems(row, server, truth_server.nominal_ms(path))
        both = truth_server.service_ms("/fixed") + truth_server.service_ms("/bimodal")
        nominal = truth_server.nominal_ms("/fixed") + truth_server.nominal_ms("/bimodal")
        missed += _problems(report["requests"], both, nominal)  # all samples, not an average
        bimodal = endpoint(report, "GET /bimodal")
        assert bimodal["p50_ms"] < 50
        assert bimodal["p95_ms"] >= 100
        if not missed:
            return
        misses.append(missed)
    raise AssertionError(f"no run within the tolerance in {ATTEMPTS} attempts: {misses}")


def test_a_stall_shows_in_client_percentiles_when_a_rate_is_set(
    tmp_path: Path, truth_server: TruthServer
) -> None:
    """One 1 s stall at 40 iterations/s: the server saw one slow request, but every
    iteration due during the stall started late, and qhub counts that lateness."""
    project = make_project(tmp_path, FEATURES)
    truth_server.stall_once(1.0, after_s=2.5)
    result = run_stress(
        project,
        "--users",
        "1",
        "--duration",
        "4",
        "--rate",
        "40",
        "--",
        "--tags",
        "@stall",
        base_url=truth_server.url,
    )
    assert result.returncode == 0, result.output
    report = result.report
    assert report is not None and report["corrected"] is True
    server = truth_server.service_ms("/stall")
    assert nearest_rank(server, 95) < 100  # the server's view: one slow request among many
    row = endpoint(report, "GET /stall")
    assert row["p95_ms"] > 300  # ~40 iterations were due during the stall, each one late
    assert row["max_ms"] >= 1000
    assert row["service"]["p95_ms"] < 100  # without the lag, the stall hides
    assert report["iterations"]["lag_max_ms"] >= 900
