"""qhub's reusable step library: ``from qhub.steps import *`` in a ``steps/`` module.

Importing it registers the steps below with behave (registration is global, so import it
from exactly one step module):

- API (``qhub.steps.api``): ``Given I use the API "{name}"``, ``When I GET "{path}"``,
  ``When I DELETE "{path}"``, ``When I POST/PUT/PATCH "{path}" with JSON:``,
  ``Then the response status is {code:d}``, ``Then the response matches schema "{name}"``,
  ``Then the response JSON has "{field}"``, ``Then the response JSON "{field}" equals {value}``.
- Data (``qhub.steps.data``): ``Given {n:d} cached users as "{key}"``,
  ``Given {n:d} cached "{kind}" records as "{key}"``,
  ``Given the following cached products as "{key}":``,
  ``Then the cached "{key}" data has {n:d} records``,
  ``Then the cached "{key}" records have unique "{field}" values``,
  ``Then every cached "{key}" record has "{field}" equal to "{value}"``.
"""

from __future__ import annotations

from qhub.steps import api as _api
from qhub.steps import data as _data

__all__: list[str] = []
_registered = (_api, _data)
