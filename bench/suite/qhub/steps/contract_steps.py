"""Response contract steps: qhub's client validates against ``schemas/<name>.json``."""
from behave import then


@then('the response matches the "{name}" schema')
def step_matches_schema(context, name):
    context.api.validate_response(context.response, name)
