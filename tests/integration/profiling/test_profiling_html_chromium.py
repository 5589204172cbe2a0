"""The HTML report of a real run, opened offline in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EVIL = "<script>alert(1)</script>"

EVIL_STEPS = """
from behave import when


@when("<script>alert(1)</script>")
def evil(context):
    pass
"""


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not Path("/usr/bin/chromedriver").exists():
        pytest.fail("chromedriver is not installed at /usr/bin/chromedriver")
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.mark.chromium
def test_report_renders_charts_and_escapes(
    make_project: Any, behave_run: Any, feature_text: Any, driver: Any
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = (
        feature_text("A", [2, 4, 6, 8])
        + f"\n  Scenario: {EVIL}\n    Given a number 1\n    When {EVIL}\n"
    )
    project = make_project(
        features={"a.feature": text}, config={"report": {"formats": ["json", "html"]}}
    )
    (project / "features/steps/evil_steps.py").write_text(EVIL_STEPS)
    assert behave_run(project).returncode == 0
    subprocess.run(
        [sys.executable, "-m", "qhub", "baseline", "set"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    result = behave_run(project)
    assert result.returncode == 0, result.output
    html = project / "reports/qhub-report.html"

    driver.get(html.as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts") == "ready"
    )
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert driver.execute_script("return document.scripts.length") == 2

    bars = driver.find_elements(By.CSS_SELECTOR, "#chart-steps svg rect")
    assert len(bars) == 4  # four step definitions
    assert all(float(b.get_attribute("width")) >= 1 for b in bars)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-distribution svg circle")) >= 10
    assert driver.find_elements(By.CSS_SELECTOR, "#chart-attribution svg rect")
    trend = driver.find_elements(By.CSS_SELECTOR, "#chart-trend svg path")
    assert len(trend) == 2 and trend[0].get_attribute("d").count("L") == 1  # two runs
    trend_labels = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#chart-trend svg text")]
    assert "baseline" in trend_labels
    memory = driver.find_elements(By.CSS_SELECTOR, "#chart-memory svg path")
    assert memory and memory[0].get_attribute("d").count("L") >= 5

    svg_labels = [
        t.get_attribute("textContent")
        for t in driver.find_elements(By.CSS_SELECTOR, "#chart-steps svg text")
    ]
    assert EVIL in svg_labels
    escaped = driver.find_elements(By.XPATH, f"//summary[text()='{EVIL}']")
    assert len(escaped) == 1
    scenario_cells = driver.find_elements(By.XPATH, f"//td[text()='{EVIL}']")
    assert scenario_cells
