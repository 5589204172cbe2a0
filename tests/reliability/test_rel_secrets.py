"""Secrets in headers, tokens, URLs and the Redis URL never reach logs or reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qhub.demo import DemoServer

SECRETS = {
    "header": "hdr-5ecret-1111",
    "token": "tok-5ecret-2222",
    "url_password": "pw-5ecret-3333",
    "query": "qry-5ecret-4444",
    "redis_password": "rds-5ecret-5555",
}

FEATURE = """\
Feature: requests carrying secrets

  Scenario: secrets in headers, token, URL credentials and query
    When I GET "/pets?api_key={secret}&page=1"
    And I GET "/nope?token={secret}"
    Then the last answer was 404
    And I cache a value

  Scenario: a request that fails with its URL in the error
    Given the server drops the next connection
    When I POST "/pets?api_key={secret}"
"""

STEPS = """\
import logging
import os

from behave import given, then, when

log = logging.getLogger("qhub")


@when('I GET "{path}"')
def step_get(context, path):
    # the secret comes from the environment: feature text is printed by behave itself
    context.response = context.api.get(path.replace("{secret}", os.environ["REL_SECRET"]))


@then("the last answer was {code:d}")
def step_code(context, code):
    assert context.response.status_code == code


@then("I cache a value")
def step_cache(context):
    context.cache.set("k", 1)


@given("the server drops the next connection")
def step_drop(context):
    context.api.post("/_admin/faults", json={"drop_next": 1})


@when('I POST "{path}"')
def step_post(context, path):
    context.api.post(path.replace("{secret}", os.environ["REL_SECRET"]), json={"name": "Rex"})
"""


@pytest.mark.redis
def test_secrets_never_reach_output_or_reports(
    tmp_path: Path, kit, behave_run, redis_server
) -> None:
    """Debug logging on, one failing request, a Redis URL whose password is wrong: none
    of the five secrets shows up in stdout/stderr, the JSON or HTML report, or history."""
    kit.write_project(tmp_path, {"secrets.feature": FEATURE}, {"secret_steps.py": STEPS})
    with DemoServer() as server:
        base = server.url.replace("http://", f"http://user:{SECRETS['url_password']}@")
        env = kit.qhub_env(
            tmp_path,
            QHUB_API_BASE_URL=base,
            QHUB_API_HEADERS=f'{{"X-Api-Key": "{SECRETS["header"]}", "Accept": "*/*"}}',
            QHUB_API_AUTH_TOKEN=SECRETS["token"],
            QHUB_API_RETRIES="0",
            QHUB_CACHE_BACKEND="redis",
            QHUB_REDIS_URL=f"redis://:{SECRETS['redis_password']}@127.0.0.1:{redis_server.port}/0",
            QHUB_REPORT_FORMATS="json,html,markdown",
            REL_SECRET=SECRETS["query"],
        )
        result = behave_run(tmp_path, "--logging-level", "DEBUG", "--no-logcapture",
                            "--no-capture", env=env)
        assert server.stats()["requests"] >= 4, "the requests never reached the server"
    assert re.search(r"1 scenario passed, (1 failed|0 failed, 1 error)", result.stdout), (
        result.output
    )
    reports = kit.report_files(tmp_path, ".json") + kit.report_files(tmp_path, ".html")
    assert {p.suffix for p in reports} == {".json", ".html"}, reports
    places = {"stdout": result.stdout, "stderr": result.stderr}
    for path in reports + kit.report_files(tmp_path, ".md"):
        places[path.name] = path.read_text()
    history = tmp_path / ".qhub" / "history.db"
    places["history.db"] = history.read_bytes().decode("latin-1")
    logged = places["stderr"] + places["stdout"]
    assert "/pets" in logged, "nothing was logged at all"
    assert "<redacted>" in logged, "the failing URL was not shown (redacted) at all"
    leaks = [
        f"{what} in {where}"
        for where, text in places.items()
        for what, secret in SECRETS.items()
        if secret in text
    ]
    assert not leaks, leaks
