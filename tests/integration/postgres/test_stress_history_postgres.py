"""``qhub stress`` with a shared PostgreSQL history: runs recorded there and compared from
there, through the same door as behave runs; a database that is away costs one warning.

Real ``qhub stress`` subprocesses against qhub's demo API on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qhub.demo.server import DemoServer
from qhub.profiling.history import STRESS
from qhub.profiling.history.postgres import PostgresHistory
from tests.conftest import free_port
from tests.integration.postgres.conftest import PASSWORD
from tests.integration.stress.conftest import make_project, run_stress

FEATURES = {
    "h.feature": """
        Feature: H
          Scenario: health
            When I GET "/health"
            Then the response status is 200
        """
}


@pytest.fixture
def demo_url() -> Iterator[str]:
    with DemoServer() as server:
        yield server.url


def test_runs_are_recorded_and_compared_in_postgres(
    tmp_path: Path, postgres_url: str, demo_url: str
) -> None:
    project = make_project(tmp_path, FEATURES)
    runs = [
        run_stress(
            project, "--iterations", "3", base_url=demo_url, QHUB_PROFILING_HISTORY_URL=postgres_url
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.output
        assert PASSWORD not in run.output and "warning" not in run.stderr
    first, second = (run.report for run in runs)
    assert first is not None and second is not None
    assert first["comparison"] is None
    assert second["comparison"]["baseline_run"] == first["run_id"]
    assert not (project / ".qhub" / "history.db").exists()  # the URL wins over the file
    with PostgresHistory(postgres_url, readonly=True) as history:
        assert [r.id for r in history.runs(kind=STRESS)] == [second["run_id"], first["run_id"]]
        [stored] = history.documents(second["run_id"])
    assert stored.document == second


def test_a_database_that_is_away_is_one_warning(tmp_path: Path, demo_url: str) -> None:
    project = make_project(tmp_path, FEATURES)
    url = f"postgresql://qhub:{PASSWORD}@127.0.0.1:{free_port()}/qhub"
    result = run_stress(
        project,
        "--iterations",
        "2",
        base_url=demo_url,
        QHUB_PROFILING_HISTORY_URL=url,
        QHUB_PROFILING_HISTORY_CONNECT_TIMEOUT_S="2",
    )
    assert result.returncode == 0, result.output
    assert result.report is not None
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "cannot be used" in warnings[0], result.stderr
    assert "not recorded" in warnings[0]
    assert PASSWORD not in result.output
