"""Gherkin steps for cached test data (``context.data``).

Import them in a ``steps/`` module with ``from qhub.steps.data import *`` (or through
``from qhub.steps import *``)::

    Given 5 cached users as "admins"
    Given the following cached products as "catalog":
      | name  | price |
      | Lamp  | 19.90 |
    Then the cached "admins" data has 5 records
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import behave

from qhub.exceptions import DataError

__all__: list[str] = []  # steps register themselves; nothing to re-export

_F = TypeVar("_F", bound=Callable[..., None])
given = cast(Callable[[str], Callable[[_F], _F]], behave.given)
then = cast(Callable[[str], Callable[[_F], _F]], behave.then)


def _data(context: Any) -> Any:
    data = getattr(context, "data", None)
    if data is None:
        raise DataError("context.data is not set: call qhub.behave.install(context) in "
                        "before_all (or run behave with --runner=qhub.behave:Runner)")
    return data


def coerce_cell(text: str) -> Any:
    """A table cell as a JSON value: integers, decimals, true/false and null are typed."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", ""):
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


@given('{n:d} cached users as "{key}"')
def step_cached_users(context: Any, n: int, key: str) -> None:
    """``n`` users (cached), stored under ``key`` for later steps."""
    _data(context).users(n, key=key)


@given('{n:d} cached "{kind}" records as "{key}"')
def step_cached_records(context: Any, n: int, kind: str, key: str) -> None:
    """``n`` records of a built-in kind or template, stored under ``key``."""
    _data(context).records(kind, n, key)


@given('the following cached products as "{key}":')
@given('the following cached products as "{key}"')  # behave 1.2.6 drops the colon before a table
def step_cached_products_table(context: Any, key: str) -> None:
    """One cached product per table row; the row's columns override generated fields."""
    if context.table is None:
        raise DataError(f'step "the following cached products as {key!r}" needs a table')
    rows = [{h: coerce_cell(row[h]) for h in context.table.headings} for row in context.table]
    _data(context).records("product", key=key, rows=rows)


@then('the cached "{key}" data has {n:d} records')
def step_cached_count(context: Any, key: str, n: int) -> None:
    """Data stored under ``key`` has exactly ``n`` records."""
    records = _data(context).get(key)
    assert len(records) == n, f"{key!r} has {len(records)} records, expected {n}"


@then('the cached "{key}" records have unique "{field}" values')
def step_cached_unique(context: Any, key: str, field: str) -> None:
    """No two records under ``key`` share a value of ``field``."""
    values = [record.get(field) for record in _data(context).get(key)]
    assert len(set(map(repr, values))) == len(values), f"duplicate {field!r} values in {key!r}"


@then('every cached "{key}" record has "{field}" equal to "{value}"')
def step_cached_field_equals(context: Any, key: str, field: str, value: str) -> None:
    """Every record under ``key`` has ``field`` equal to ``value`` (typed like table cells)."""
    expected = coerce_cell(value)
    for record in _data(context).get(key):
        assert record.get(field) == expected, f"{key!r} record {record.get('id')!r}: " \
            f"{field}={record.get(field)!r}, expected {expected!r}"
