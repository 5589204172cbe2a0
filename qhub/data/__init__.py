"""Cached, deterministic Faker test data (``context.data``).

Names are re-exported lazily (PEP 562): ``import qhub.data`` imports neither Faker nor
YAML; they load when data is first generated or a template file is first parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "TestData": "qhub.data.testdata",
    "DatabaseTestDataGenerator": "qhub.data.compat",
    "TestDataCache": "qhub.data.compat",
    "generate_cached_users": "qhub.data.compat",
    "cached_user_data": "qhub.data.compat",
    "CacheAwareDataReader": "qhub.data.reader",
    "data_from_config": "qhub.data.testdata",
    "Recipe": "qhub.data.recipe",
    "TemplateSet": "qhub.data.templates",
    "process_faker_calls": "qhub.data._faker",
}

__all__ = [
    "CacheAwareDataReader",
    "DatabaseTestDataGenerator",
    "Recipe",
    "TemplateSet",
    "TestData",
    "TestDataCache",
    "cached_user_data",
    "data_from_config",
    "generate_cached_users",
    "process_faker_calls",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from qhub.data._faker import process_faker_calls
    from qhub.data.compat import (
        DatabaseTestDataGenerator,
        TestDataCache,
        cached_user_data,
        generate_cached_users,
    )
    from qhub.data.reader import CacheAwareDataReader
    from qhub.data.recipe import Recipe
    from qhub.data.templates import TemplateSet
    from qhub.data.testdata import TestData, data_from_config
