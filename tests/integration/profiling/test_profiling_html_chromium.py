"""The HTML report of real runs, driven in headless Chromium: charts, sorting, filtering.

Chromium and chromedriver are found on PATH (the ``driver`` fixture,
``tests/integration/conftest.py``; ``./run-tests`` installs them as root, without root the
tests skip, named in the summary line). A screenshot of the report is kept in the system
temp folder (``qhub-report-chromium.png``) for a person to look at.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.chromium

EVIL = "<script>alert(1)</script>"
SCREENSHOT = Path(tempfile.gettempdir()) / "qhub-report-chromium.png"

MORE_STEPS = """
from behave import when, then


@when("<script>alert(1)</script>")
def evil(context):
    pass


@then("the total is {n:d}")
def total(context, n):
    assert n == 3, f"expected a total of 3, got {n}"
"""


def _git(project: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}  # fmt: skip
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


@pytest.fixture
def report_page(make_project: Any, behave_run: Any, feature_text: Any, driver: Any) -> Any:
    """Three runs of a small suite in a git repository (the first pinned), opened."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = (
        feature_text("A", [2, 4, 6, 8])
        + f"\n  Scenario: {EVIL}\n    Given a number 1\n    When {EVIL}\n"
        + "\n  Scenario: sums up\n    Given a number 1\n    Then the total is 4\n"
    )
    project = make_project(
        features={"a.feature": text}, config={"report": {"formats": ["json", "html"]}}
    )
    (project / "features/steps/more_steps.py").write_text(MORE_STEPS)
    if shutil.which("git"):
        _git(project, "init", "-q")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "-m", "suite")
    for i in range(3):
        result = behave_run(project)
        assert result.returncode == 1, result.output  # "sums up" fails on purpose
        if i == 0:
            subprocess.run(
                [sys.executable, "-m", "qhub", "baseline", "set", "--allow-failed"],
                cwd=project, check=True, capture_output=True,
            )  # fmt: skip
    driver.get((project / "reports/qhub-report.html").as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-charts") == "ready"
    )
    return driver


def _texts(driver: Any, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.get_attribute("textContent") for e in driver.find_elements(By.CSS_SELECTOR, css)]


def _is_round(step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))


def test_renders_safely_with_labelled_charts(report_page: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver = report_page
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert driver.execute_script("return document.scripts.length") == 2
    assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-steps svg rect")) == 5

    # trend: axis titles, date + commit under each run, round ticks, legend outside the plot
    titles = _texts(driver, "#chart-trend svg text.axis-title")
    assert titles == ["run (finished, commit), oldest → newest", "seconds"]
    labels = _texts(driver, "#chart-trend svg text tspan")
    assert len(labels) == 6  # three runs: date and commit each
    assert all(len(label) == 16 and label[4] == "-" for label in labels[::2])
    assert all(len(label) == 7 for label in labels[1::2])  # a short commit hash
    ticks = [float(t) for t in _texts(driver, "#chart-trend svg text.ytick")]
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert ticks[0] == 0 and len(steps) == 1 and _is_round(steps.pop())
    top = max(t for t in driver.execute_script(
        "return JSON.parse(document.getElementById('qhub-data').textContent)"
        ".trend.map(function(t){return t.wall;})"
    ))  # fmt: skip
    assert ticks[-1] >= top  # no point above the axis
    assert _texts(driver, "#chart-trend ul.legend li") == ["wall time", "step bodies"]
    marks = _texts(driver, "#chart-trend svg circle title")
    assert any(m.startswith("baseline: ") for m in marks)
    assert any(m.startswith("this run: ") for m in marks)

    # memory from zero, with labelled axes
    assert _texts(driver, "#chart-memory svg text.axis-title") == [
        "seconds since process start", "resident memory (MB)"
    ]  # fmt: skip
    memory_ticks = _texts(driver, "#chart-memory svg text.ytick")
    assert float(memory_ticks[0]) == 0.0
    assert "The memory axis starts at 0 MB." in _texts(driver, "#chart-memory p.loc")[0]

    # failed scenario with its error line; the script text shown, never run
    failed = driver.find_element(By.ID, "failed").text
    assert "sums up" in failed and "AssertionError: expected a total of 3, got 4" in failed
    assert EVIL in _texts(driver, "#chart-steps svg text")
    assert len(driver.find_elements(By.XPATH, f"//summary[text()='{EVIL}']")) == 1
    driver.save_screenshot(str(SCREENSHOT))


def test_per_step_trend_follows_the_pick(report_page: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = report_page
    pick = Select(driver.find_element(By.ID, "item-pick"))
    assert len(pick.options) == 5
    pick.select_by_visible_text("I wait {ms:d} ms")
    legend = _texts(driver, "#chart-item ul.legend li")
    assert legend == ["I wait {ms:d} ms"]
    path = driver.find_element(By.CSS_SELECTOR, "#chart-item svg path.series")
    assert path.get_attribute("d").count("L") == 2  # three runs: a point each
    assert _texts(driver, "#chart-item svg text.axis-title")[1] == "median ms"


def test_clicking_a_header_sorts_and_the_box_filters(report_page: Any) -> None:
    from selenium.webdriver.common.by import By

    driver = report_page

    def column(table: str, index: int) -> list[str]:
        rows = driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")
        return [r.find_elements(By.TAG_NAME, "td")[index].get_attribute("data-v") for r in rows]

    header = driver.find_element(By.XPATH, "//table[@id='t-steps']//th[text()='Calls']")
    header.click()  # numbers sort largest first on the first click
    calls = [float(v) for v in column("t-steps", 1)]
    assert calls == sorted(calls, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert [float(v) for v in column("t-steps", 1)] == sorted(calls)
    name = driver.find_element(By.XPATH, "//table[@id='t-steps']//th[text()='Step definition']")
    name.click()
    names = column("t-steps", 0)
    assert names == sorted(names)

    search = driver.find_element(By.CSS_SELECTOR, "input.filter[data-table='t-steps']")
    search.send_keys("When I wait 4")  # a step text inside a closed drill-down
    visible = [r for r in driver.find_elements(By.CSS_SELECTOR, "#t-steps tbody tr")
               if r.is_displayed()]  # fmt: skip
    assert len(visible) == 1 and "I wait {ms:d} ms" in visible[0].text
    assert driver.find_element(By.CSS_SELECTOR, ".shown[data-for='t-steps']").text == (
        "1 of 5 rows"
    )
    scenarios = driver.find_element(By.CSS_SELECTOR, "input.filter[data-table='t-scenarios']")
    scenarios.send_keys("failed")
    shown = [r for r in driver.find_elements(By.CSS_SELECTOR, "#t-scenarios tbody tr")
             if r.is_displayed()]  # fmt: skip
    assert [r.find_element(By.TAG_NAME, "td").text.splitlines()[0] for r in shown] == ["sums up"]
