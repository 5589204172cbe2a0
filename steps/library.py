"""qhub's reusable steps (HTTP calls, schema checks, cached data)."""

from qhub.steps import *  # noqa: F403 - registers the library steps with behave
