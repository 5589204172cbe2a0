"""Response contract steps (JSON Schema), validators compiled once and imported lazily."""
import functools
import json
import pathlib

from behave import then

SCHEMAS = pathlib.Path(__file__).parent.parent / "schemas"


@functools.lru_cache(maxsize=None)
def validator(name):
    import jsonschema

    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@then('the response matches the "{name}" schema')
def step_matches_schema(context, name):
    validator(name).validate(context.response.json())
