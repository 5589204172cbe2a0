"""The demo API dropping connections and answering 5xx: retries as configured, failures
reported per endpoint."""

from __future__ import annotations

from pathlib import Path

from qhub.demo import DemoServer

FEATURE = """\
Feature: a flaky API

  Scenario: reads survive 503s and dropped connections
    Given the server answers 503 to the next 2 requests
    When I GET "/pets" 3 times
    Then every answer was 200
    Given the server drops the next 1 connections
    When I GET "/health" 2 times
    Then every answer was 200

  Scenario: retries run out, the last 503 is the answer
    Given the server answers 503 to the next 4 requests
    When I GET "/orders" 1 times
    Then the answer was 503

  Scenario: keep-alive connections closed by the server every 2nd request
    Given the server closes connections every 2 requests
    When I GET "/health" 6 times
    Then every answer was 200

  Scenario: a POST is not retried, its failure is reported
    Given the server drops the next 1 connections
    When I POST a pet
    Then the POST failed with a clear one-line error
    When I POST a pet
    Then the answer was 201
"""

STEPS = """\
from behave import given, then, when


def faults(context, **knobs):
    response = context.api.post("/_admin/faults", json=knobs)
    assert response.status_code == 204, response.status_code


@given("the server answers 503 to the next {n:d} requests")
def step_fail(context, n):
    faults(context, fail_next=n, fail_status=503)


@given("the server drops the next {n:d} connections")
def step_drop(context, n):
    faults(context, drop_next=n)


@given("the server closes connections every {n:d} requests")
def step_close(context, n):
    faults(context, close_every=n)


@when('I GET "{path}" {n:d} times')
def step_get(context, path, n):
    context.statuses = [context.api.get(path).status_code for _ in range(n)]


@when("I POST a pet")
def step_post(context):
    from qhub import APIClientError

    context.error = None
    try:
        context.statuses = [context.api.post("/pets", json={"name": "Rex"}).status_code]
    except APIClientError as exc:
        context.error = exc


@then("the POST failed with a clear one-line error")
def step_post_failed(context):
    message = str(context.error)
    assert context.error is not None and "\\n" not in message, repr(message)
    assert "POST" in message and "/pets" in message, message


@then("every answer was 200")
def step_all_ok(context):
    assert context.statuses and set(context.statuses) == {200}, context.statuses


@then("the answer was {code:d}")
def step_answer(context, code):
    assert context.statuses == [code], context.statuses
"""


def _row(report: dict, endpoint: str) -> dict:
    rows = report["stats"]["api_endpoints"]["default"]
    matches = [r for r in rows if r["endpoint"] == endpoint]
    assert matches, f"no endpoint row {endpoint!r} in {[r['endpoint'] for r in rows]}"
    return matches[0]


def test_retries_and_per_endpoint_failures(tmp_path: Path, kit, behave_run) -> None:
    """GETs are retried through 503s, a dropped connection and server-side closes; a POST
    is not retried; the report counts retries and the POST failure under its endpoint."""
    kit.write_project(tmp_path, {"flaky.feature": FEATURE}, {"api_steps.py": STEPS})
    with DemoServer() as server:
        env = kit.qhub_env(
            tmp_path,
            QHUB_API_BASE_URL=server.url,
            QHUB_API_RETRIES="3",
            QHUB_API_BACKOFF_FACTOR="0.01",
            QHUB_API_ENABLE_WARMUP="false",
            QHUB_CACHE_BACKEND="memory",
        )
        result = behave_run(tmp_path, env=env)
        served = server.stats()
    assert result.returncode == 0, result.output
    assert "4 scenarios passed, 0 failed" in result.stdout

    report = kit.latest_json_report(tmp_path)
    api = report["stats"]["api"]["default"]
    # Retried: 2 GETs answered 503, 1 GET on a dropped connection, 3 GETs of /orders
    # (retries=3, then the 4th 503 is returned); the POST on a dropped connection is not
    # retried (not idempotent).
    assert api["retries"] == 6, api
    assert api["failed_requests"] == 1, api
    assert served["requests"] == api["requests_sent"], (served, api)
    assert served["connections_accepted"] >= 5, served  # 2 drops, 3 server-side closes

    post = _row(report, "POST /pets")
    assert post["count"] == 2 and post["errors"] == 1, post
    assert post["statuses"].get("201") == 1, post
    health = _row(report, "GET /health")
    assert health["count"] == 8 and health["statuses"] == {"200": 8}, health
    orders = _row(report, "GET /orders")
    assert orders["count"] == 1 and orders["statuses"] == {"503": 1}, orders
    assert orders["errors"] == 1, orders
    pets = _row(report, "GET /pets")
    assert pets["statuses"] == {"200": 3}, pets
