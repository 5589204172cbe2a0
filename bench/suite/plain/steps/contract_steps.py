"""Response contract steps (JSON Schema)."""
import json
import pathlib

import jsonschema
from behave import then

SCHEMAS = pathlib.Path(__file__).parent.parent / "schemas"


@then('the response matches the "{name}" schema')
def step_matches_schema(context, name):
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.validate(context.response.json(), schema)
