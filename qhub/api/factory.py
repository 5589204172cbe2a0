"""Build a :class:`BaseAPIClient` from typed settings (``api.*`` or ``apis.<name>.*``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qhub.api.client import BaseAPIClient
    from qhub.config import ApiSettings


def client_from_settings(
    settings: ApiSettings, *, name: str = "default", root: Path | None = None
) -> BaseAPIClient:
    """A client configured from ``settings``; relative ``schemas_dir`` and ``ca_bundle``
    are resolved against ``root`` (the project root, default: the current folder)."""
    from qhub.api.client import BaseAPIClient

    base = Path.cwd() if root is None else Path(root)

    def resolve(value: str | None) -> Path | None:
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path

    return BaseAPIClient(
        settings.base_url,
        pool_connections=settings.pool_connections,
        pool_maxsize=settings.pool_maxsize,
        pool_block=settings.pool_block,
        enable_connection_warmup=settings.enable_warmup,
        name=name,
        warmup_connections=settings.warmup_connections,
        warmup_path=settings.warmup_path,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries=settings.retries,
        backoff_factor=settings.backoff_factor,
        retry_statuses=settings.retry_statuses,
        verify=settings.verify,
        ca_bundle=resolve(settings.ca_bundle),
        headers=settings.headers,
        auth_token=settings.auth_token,
        rate_limit=settings.rate_limit,
        rate_burst=settings.rate_burst,
        latency_budgets_ms=settings.latency_budgets_ms,
        schemas_dir=resolve(settings.schemas_dir),
    )
