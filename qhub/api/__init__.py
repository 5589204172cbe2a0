"""Pooled HTTP client for behave steps: connection reuse by default, proven by counters.

``import qhub.api`` is cheap, and so is creating a client: requests, urllib3 and
jsonschema load when a client first sends or validates (PEP 562 for the names below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "APIClient": "qhub.api.client",
    "BaseAPIClient": "qhub.api.client",
    "client_from_settings": "qhub.api.client",
    "Transport": "qhub.api.transport",
    "SchemaStore": "qhub.api.schemas",
    "TokenBucket": "qhub.api.ratelimit",
    "endpoint_key": "qhub.api.endpoints",
    "observe_requests": "qhub.api.observe",
}

__all__ = [
    "APIClient",
    "BaseAPIClient",
    "SchemaStore",
    "TokenBucket",
    "Transport",
    "client_from_settings",
    "endpoint_key",
    "observe_requests",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from qhub.api.client import APIClient, BaseAPIClient, client_from_settings
    from qhub.api.endpoints import endpoint_key
    from qhub.api.observe import observe_requests
    from qhub.api.ratelimit import TokenBucket
    from qhub.api.schemas import SchemaStore
    from qhub.api.transport import Transport
