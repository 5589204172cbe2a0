"""Real behave runs: cached data persists across runs (zero Faker calls the second time)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FEATURE = """
Feature: Cached test data
  Scenario: users are cached and stored under a key
    Given 25 cached users as "admins"
    Then the cached "admins" data has 25 records
    And the cached "admins" records have unique "email" values

  Scenario: a scenario that corrupts its data
    Given 25 cached users as "admins"
    When I corrupt the "admins" data
    Then the cached "admins" data has 25 records

  Scenario: the next scenario sees pristine data
    Given 25 cached users as "admins"
    Then the first "admins" record is untouched

  Scenario: products from a table, templates and orders
    Given the following cached products as "catalog":
      | name | price | category |
      | Lamp | 19.9  | toys     |
      | Desk | 120   | toys     |
    Then the cached "catalog" data has 2 records
    And every cached "catalog" record has "category" equal to "toys"
    Given 3 cached "vip" records as "vips"
    Then every cached "vips" record has "tier" equal to "gold"
    Given 12 cached "order" records as "orders"
    Then the cached "orders" data has 12 records
"""

STEPS = """
from behave import then, when

from qhub.steps import *  # noqa: F403 - registers qhub's steps


@when('I corrupt the "{key}" data')
def corrupt(context, key):
    records = context.data.get(key)
    records[0]["email"] = "corrupted"
    records.pop()


@then('the first "{key}" record is untouched')
def untouched(context, key):
    assert context.data.get(key)[0]["email"] != "corrupted"
"""

ENVIRONMENT = """
import json
import sys

from qhub.behave import install
from qhub.data import process_faker_calls
from qhub.data._faker import process_faker_instances


def before_all(context):
    install(context)


def after_all(context):
    metrics = context.data.get_cache_performance_metrics()
    out = {
        "metrics": metrics,
        "process_faker_calls": process_faker_calls(),
        "process_faker_instances": process_faker_instances(),
        "faker_imported": "faker" in sys.modules,
        "data": {key: context.data.get(key) for key in context.data.keys()},
    }
    with open(context.config.userdata["out"], "w") as fh:
        json.dump(out, fh, sort_keys=True)
    print("qhub data metrics:", json.dumps(metrics, sort_keys=True))
"""

CONFIG = """
cache:
  backend: disk
  path: state/cache.db
data:
  seed: 4242
  templates_dir: data
"""

TEMPLATE = """
templates:
  vip:
    kind: user
    fields:
      tier: gold
      nickname: {faker: first_name}
"""


def make_project(root: Path) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "steps").mkdir()
    (root / "data").mkdir()
    (root / "features" / "data.feature").write_text(textwrap.dedent(FEATURE))
    (root / "steps" / "data_steps.py").write_text(textwrap.dedent(STEPS))
    (root / "environment.py").write_text(textwrap.dedent(ENVIRONMENT))
    (root / "qhub.yaml").write_text(textwrap.dedent(CONFIG))
    (root / "data" / "vip.yaml").write_text(textwrap.dedent(TEMPLATE))
    return root


def run(behave_run: Callable[..., Any], project: Path, n: int, *extra: str) -> dict[str, Any]:
    out = project / f"run{n}.json"
    result = behave_run(project, "--no-capture", "-D", f"out={out}", *extra)
    assert result.returncode == 0, result.output
    assert "qhub data metrics:" in result.stdout
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def test_second_run_makes_zero_faker_calls_and_same_data(
    project: Path, behave_run: Callable[..., Any]
) -> None:
    first = run(behave_run, project, 1)
    assert first["metrics"]["misses"] > 0
    assert first["metrics"]["faker_calls"] == first["process_faker_calls"] > 0

    second = run(behave_run, project, 2)
    assert second["data"] == first["data"]
    assert second["process_faker_calls"] == 0
    assert second["process_faker_instances"] == 0
    assert second["faker_imported"] is False
    assert second["metrics"]["misses"] == 0
    assert second["metrics"]["hits"] > 0
    assert second["metrics"]["records_generated"] == 0
    assert second["metrics"]["template_parse_hits"] == 1
    assert (project / "state" / "cache.db").is_file()


def test_editing_a_template_regenerates_only_its_data(
    project: Path, behave_run: Callable[..., Any]
) -> None:
    first = run(behave_run, project, 1)
    template = project / "data" / "vip.yaml"
    template.write_text(template.read_text().replace("tier: gold", "tier: platinum"))
    (project / "features" / "data.feature").write_text(
        (project / "features" / "data.feature").read_text().replace('"gold"', '"platinum"'))
    second = run(behave_run, project, 2)
    assert [v["tier"] for v in second["data"]["vips"]] == ["platinum"] * 3
    assert second["metrics"]["misses"] == 1  # only the vip dataset
    assert second["data"]["admins"] == first["data"]["admins"]


def test_bad_template_stops_before_any_scenario(
    project: Path, behave_run: Callable[..., Any]
) -> None:
    (project / "data" / "broken.yaml").write_text(
        "templates:\n  broken:\n    fields:\n      x: {faker: not_a_provider}\n")
    result = behave_run(project, "-D", f"out={project / 'never.json'}")
    assert result.returncode != 0
    assert "data/broken.yaml:4: field 'x': unknown provider 'not_a_provider'" in result.output
    assert "Scenario" not in result.stdout or "0 scenarios passed" in result.stdout
    assert not (project / "never.json").exists()
