"""Shared API steps: health check, status codes, error messages."""
import http.cookiejar
import json
import logging
import os
import urllib.parse

import requests
from behave import given, then, when

log = logging.getLogger("petstore")
TIMEOUT = float(os.environ.get("PETSTORE_TIMEOUT", "10"))


def call(context, method, path, body=None):
    """One request to the pet store; every call opens its own connection, like requests.get."""
    url = urllib.parse.urljoin(context.base_url, path)
    response = requests.request(
        method, url, json=body, verify=context.ca_bundle, timeout=TIMEOUT,
        cookies=http.cookiejar.CookieJar(),
    )
    log.debug("%s %s -> %s", method, path, response.status_code)
    context.response = response
    return response


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
