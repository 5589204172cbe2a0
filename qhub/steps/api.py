"""behave steps for HTTP APIs, on the pooled client (``context.api`` / ``context.qhub.api``).

Use them with ``from qhub.steps.api import *`` in a steps module. Every request step stores
the answer in ``context.response``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import behave

from qhub.exceptions import ConfigError, ResponseValidationError

__all__ = [
    "step_api_delete",
    "step_api_get",
    "step_api_patch_json",
    "step_api_post_json",
    "step_api_put_json",
    "step_api_use",
    "step_response_field_equals",
    "step_response_has_field",
    "step_response_matches_schema",
    "step_response_status",
]


_F = TypeVar("_F", bound=Callable[..., None])


class _StepDecorator(Protocol):
    def __call__(self, pattern: str) -> Callable[[_F], _F]: ...


given = cast(_StepDecorator, behave.given)
when = cast(_StepDecorator, behave.when)
then = cast(_StepDecorator, behave.then)


def _client(context: Any) -> Any:
    """The API chosen by ``Given I use the API "name"``, else ``context.api``."""
    name = getattr(context, "qhub_api_name", None)
    if name is not None:
        return context.qhub.api(name)
    api = getattr(context, "api", None)
    if api is None:
        raise ConfigError(
            "no API client on the context: call qhub.behave.install(context) or set "
            "context.api = APIClient(base_url)"
        )
    return api


def _json_text(context: Any) -> Any:
    text = context.text or ""
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the step's JSON doc string is invalid: {exc}") from None


def _response(context: Any) -> Any:
    response = getattr(context, "response", None)
    if response is None:
        raise AssertionError("no response yet: send a request first (When I GET ...)")
    return response


def _body(context: Any) -> Any:
    from qhub.api.client import APIClient

    return APIClient.json_of(_response(context))


@given('I use the API "{name}"')
def step_api_use(context: Any, name: str) -> None:
    """Send the following requests to ``apis.<name>`` (``default`` for ``api.*``)."""
    context.qhub_api_name = name


@when('I GET "{path}"')
def step_api_get(context: Any, path: str) -> None:
    context.response = _client(context).get(path)


@when('I DELETE "{path}"')
def step_api_delete(context: Any, path: str) -> None:
    context.response = _client(context).delete(path)


@when('I POST "{path}" with JSON:')
@when('I POST "{path}" with JSON')  # behave 1.2.6 drops the colon before a docstring
def step_api_post_json(context: Any, path: str) -> None:
    context.response = _client(context).post(path, json=_json_text(context))


@when('I PUT "{path}" with JSON:')
@when('I PUT "{path}" with JSON')  # behave 1.2.6 drops the colon before a docstring
def step_api_put_json(context: Any, path: str) -> None:
    context.response = _client(context).put(path, json=_json_text(context))


@when('I PATCH "{path}" with JSON:')
@when('I PATCH "{path}" with JSON')  # behave 1.2.6 drops the colon before a docstring
def step_api_patch_json(context: Any, path: str) -> None:
    context.response = _client(context).patch(path, json=_json_text(context))


@then("the response status is {code:d}")
def step_response_status(context: Any, code: int) -> None:
    response = _response(context)
    if response.status_code != code:
        from qhub._redact import redact_snippet, redact_url

        body = redact_snippet(response.text, 200)
        raise AssertionError(
            f"expected status {code}, got {response.status_code} from "
            f"{response.request.method} {redact_url(response.request.path_url)}: {body}"
        )


@then('the response matches schema "{name}"')
def step_response_matches_schema(context: Any, name: str) -> None:
    _client(context).validate_response(_response(context), name)


@then('the response JSON has "{field}"')
def step_response_has_field(context: Any, field: str) -> None:
    from qhub.api.schemas import check_fields

    check_fields(_body(context), required=[field], context="response")


@then('the response JSON "{field}" equals {value}')
def step_response_field_equals(context: Any, field: str, value: str) -> None:
    """``value`` is read as JSON (``3``, ``true``, ``"rex"``); anything else as text."""
    from qhub.api.schemas import is_missing, json_path, lookup

    try:
        expected = json.loads(value)
    except json.JSONDecodeError:
        expected = value
    actual = lookup(_body(context), field)
    if is_missing(actual):
        raise ResponseValidationError(f"response has no field {field!r}")
    if actual != expected:
        from qhub._redact import redact_snippet

        where = json_path([field])
        got = redact_snippet(repr(actual), 200)
        raise ResponseValidationError(f"at {where}: expected {expected!r}, got {got}")
