"""qhub's reusable step library: ``from qhub.steps import *`` in a ``steps/`` module.

Importing it registers the steps below with behave (registration is global, so import it
from exactly one step module):

- API: ``When I GET "{path}"``, ``When I POST "{path}" with JSON:``, ``When I DELETE "{path}"``,
  ``Then the response status is {code:d}``, ``Then the response matches schema "{name}"``,
  ``Then the response JSON has "{field}"``.
- Data: ``Given {n:d} cached users as "{key}"``, ``Given the following cached products as
  "{key}":``, ``Then the cached "{key}" data has {n:d} records``.
"""

from __future__ import annotations

from qhub.steps import api as _api
from qhub.steps import data as _data

__all__: list[str] = []
_registered = (_api, _data)
