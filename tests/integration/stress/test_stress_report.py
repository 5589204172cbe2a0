"""The main HTML report (``qhub report``) shows the newest stress run of the history.

A real behave run and a real ``qhub stress`` run of one project write one SQLite history;
``qhub report --format html`` then draws the stress section from the stored document.
A hostile stored document makes a note, never a traceback; in headless Chromium the
section's charts render without a JavaScript error.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qhub.profiling.history import STRESS
from qhub.profiling.history.sqlite import SQLiteHistory
from tests.conftest import run_behave
from tests.integration.stress.conftest import (
    FIXED_AND_HEALTH,
    TruthServer,
    make_project,
    run_stress,
    stress_env,
)

pytestmark = pytest.mark.behave_matrix

FEATURES = {
    **FIXED_AND_HEALTH,
    "missing.feature": """
        Feature: M
          @missing
          Scenario: missing
            When I GET "/missing"
            Then the response status is 404
        """,
}


def recorded_project(root: Path, server: TruthServer) -> tuple[Path, dict[str, Any]]:
    """A project whose history holds one behave run and one stress run."""
    project = make_project(root, FEATURES)
    env = stress_env(project, server.url)
    behave = run_behave(project, "-f", "null", env=env)
    assert behave.returncode == 0, behave.output
    stress = run_stress(project, "--users", "2", "--iterations", "5", base_url=server.url)
    assert stress.returncode == 0, stress.output
    assert stress.report is not None
    return project, stress.report


def report(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qhub", "report", "--format", "html"],
        cwd=project,
        env=stress_env(project, None),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def section(html: str) -> str:
    start = html.index("<section id='stress'>")
    return html[start : html.index("</section>", start)]


def test_the_report_shows_the_newest_stress_run(tmp_path: Path, truth_server: TruthServer) -> None:
    project, stored = recorded_project(tmp_path, truth_server)
    result = report(project)
    assert result.returncode == 0, result.stderr
    html = (project / "reports" / "qhub-report.html").read_text()
    part = section(html)
    endpoints = part.split("id='t-stress'")[1].split("</table>")[0]
    labels = re.findall(r"<tr><td data-v='[^']*'>([^<]*)</td>", endpoints)
    assert sorted(labels) == ["GET /fixed", "GET /health", "GET /missing", "all requests"]
    counts = dict(
        re.findall(r"<tr><td data-v='[^']*'>([^<]*)</td><td class='num' data-v='(\d+)", endpoints)
    )
    assert counts == {"all requests": "30", "GET /fixed": "10", "GET /health": "10",
                      "GET /missing": "10"}  # fmt: skip
    assert f"run {stored['run_id']}" in part and "2 user(s) 5 iteration(s) per user" in part
    assert "chart-stress-latency" in part and "chart-stress-errors" in part
    assert "Traceback" not in result.stderr


def test_a_hostile_stored_run_is_a_note(tmp_path: Path) -> None:
    project = make_project(tmp_path, FEATURES)
    env = stress_env(project, "http://127.0.0.1:9")
    behave = run_behave(project, "-f", "null", "--tags", "@nothing", env=env)
    assert behave.returncode == 0, behave.output
    with SQLiteHistory(project / ".qhub" / "history.db") as history:
        history.add_document(
            {"kind": "stress", "run_id": "<script>alert(1)</script>", "endpoints": "all"},
            run_id="hostile",
            part="hostile",
            kind=STRESS,
        )
    result = report(project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    html = (project / "reports" / "qhub-report.html").read_text()
    part = section(html)
    assert "The newest stress run (hostile) cannot be shown: endpoints is not a list." in part
    assert "<script>alert(1)" not in html


@pytest.mark.chromium
def test_the_stress_charts_render_in_chromium(
    tmp_path: Path, truth_server: TruthServer, driver: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    project, _ = recorded_project(tmp_path, truth_server)
    assert report(project).returncode == 0
    driver.get((project / "reports" / "qhub-report.html").as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts") == "ready"
    )
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    latency = driver.find_elements(By.CSS_SELECTOR, "#chart-stress-latency svg path.series")
    assert len(latency) == 3  # p50, p95, p99
    legend = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-stress-latency li")]
    assert legend == ["p50", "p95", "p99"]
    titles = driver.find_elements(By.CSS_SELECTOR, "#chart-stress-latency text.axis-title")
    assert [t.text for t in titles] == ["seconds since the load started", "latency (ms)"]
    no_errors = driver.find_element(By.CSS_SELECTOR, "#chart-stress-errors p.empty").text
    assert no_errors == "No failed request."
    header = driver.find_element(By.XPATH, "//table[@id='t-stress']//th[text()='Requests']")
    header.click()
    first = driver.find_element(By.CSS_SELECTOR, "#t-stress tbody tr td").text
    assert first == "all requests"  # the largest count, sorted first
