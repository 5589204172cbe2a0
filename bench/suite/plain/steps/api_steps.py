"""Shared API steps: health check, status codes, error messages."""
import json

from behave import given, then
from petstore import call


@given("the pet store API is up")
def step_api_up(context):
    response = call(context, "GET", "/health")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


@then("the response status is {code:d}")
def step_status(context, code):
    actual = context.response.status_code
    assert actual == code, f"expected {code}, got {actual}: {context.response.text}"


@then('the error mentions "{text}"')
def step_error_mentions(context, text):
    error = json.loads(context.response.text)["error"]
    assert text in error, error
