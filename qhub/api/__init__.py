"""Pooled HTTP client for behave steps: connection reuse by default, proven by counters.

``import qhub.api`` is cheap: requests, urllib3 and jsonschema load when a name below is
first used (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "BaseAPIClient": "qhub.api.client",
    "client_from_settings": "qhub.api.factory",
    "SchemaStore": "qhub.api.schemas",
    "TokenBucket": "qhub.api.ratelimit",
    "endpoint_key": "qhub.api.endpoints",
}

__all__ = ["BaseAPIClient", "SchemaStore", "TokenBucket", "client_from_settings", "endpoint_key"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from qhub.api.client import BaseAPIClient
    from qhub.api.endpoints import endpoint_key
    from qhub.api.factory import client_from_settings
    from qhub.api.ratelimit import TokenBucket
    from qhub.api.schemas import SchemaStore
