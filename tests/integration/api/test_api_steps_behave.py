"""qhub.steps.api in a real behave run against the demo API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qhub.demo.server import DemoServer

pytestmark = pytest.mark.timeout(120)

FEATURE = '''
Feature: pets over the pooled client

  Scenario: create and read a pet
    When I POST "/pets" with JSON:
      """
      {"name": "rex", "tags": ["good"]}
      """
    Then the response status is 201
    And the response matches schema "pet"
    And the response JSON has "tags[0]"
    And the response JSON "name" equals "rex"
    When I GET "/pets/1"
    Then the response status is 200
    And the response JSON "id" equals 1
    When I PATCH "/pets/1" with JSON:
      """
      {"age": 4}
      """
    Then the response JSON "age" equals 4
    When I DELETE "/pets/1"
    Then the response status is 204

  Scenario: a named API
    Given I use the API "default"
    When I GET "/pets/99"
    Then the response status is 404

  Scenario: a response that breaks the schema
    When I POST "/pets" with JSON:
      """
      {"name": 12}
      """
    Then the response matches schema "pet"
'''

ENVIRONMENT = '''
import os
from types import SimpleNamespace
from qhub.api import BaseAPIClient

def before_all(context):
    context.api = BaseAPIClient(os.environ["DEMO_URL"], schemas_dir="schemas",
                                enable_connection_warmup=False)
    context.qhub = SimpleNamespace(api=lambda name: context.api)

def after_all(context):
    stats = context.api.get_pool_stats()
    print("POOL", stats["requests"], stats["connections_created"])
    context.api.close()
'''

PET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}


def test_steps_in_real_behave(
    demo: DemoServer, tmp_path: Path, behave_run: Callable[..., Any]
) -> None:
    (tmp_path / "features" / "steps").mkdir(parents=True)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "features" / "pets.feature").write_text(FEATURE)
    (tmp_path / "features" / "environment.py").write_text(ENVIRONMENT)
    (tmp_path / "features" / "steps" / "api_steps.py").write_text(
        "from qhub.steps.api import *  # noqa: F403\n"
    )
    (tmp_path / "schemas" / "pet.json").write_text(json.dumps(PET_SCHEMA))
    result = behave_run(tmp_path, "--no-capture", env={"DEMO_URL": demo.url})
    out = result.output
    assert result.returncode == 1, out
    assert "2 scenarios passed, 1 failed" in out
    assert "at $.name: 12 is not of type 'string'" in out
    assert "POOL 6 1" in out  # six requests over one kept-alive connection
    assert demo.stats()["connections_accepted"] == 1
