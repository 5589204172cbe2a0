"""``data_from_config``: the ``context.data`` a behave run gets, built from ``[data]`` settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.data.compat import NAMESPACE
from qhub.data.reader import CacheAwareDataReader
from qhub.data.testdata import TestData

if TYPE_CHECKING:
    from qhub.cache import CacheManager
    from qhub.config import QHubConfig


def data_from_config(config: QHubConfig, cache: CacheManager | None) -> TestData:
    """Test data as configured; templates are loaded and validated now.

    ``data.backend = "inherit"`` stores data in ``cache`` (namespace ``data``); another
    backend name builds a cache of its own, closed by ``TestData.close()``. With
    ``data.enabled`` off, records are generated on every call and nothing is cached.
    A bad template raises :class:`qhub.TemplateError` here, before any scenario runs.
    """
    settings = config.data
    manager: CacheManager | None = None
    owned: CacheManager | None = None
    if settings.enabled:
        if settings.backend == "inherit":
            manager = cache
            if manager is None and config.cache.enabled:
                from qhub.cache import cache_from_config

                manager = owned = cache_from_config(config)
        else:
            from qhub.cache import cache_from_config

            manager = owned = cache_from_config(config, backend=settings.backend)
    store = manager.namespaced(NAMESPACE) if manager is not None else None
    data = TestData(
        store,
        locale=settings.locale,
        seed=settings.seed,
        ttl=settings.cache_ttl,
        on_close=owned.close if owned is not None else None,
    )
    reader = CacheAwareDataReader(
        store,
        config.path(settings.templates_dir),
        locale=settings.locale,
        root=config.root,
        metrics=data.metrics,
        faker_factory=data._faker,
    )
    try:
        data.templates = reader.load()
    except BaseException:
        data.close()
        raise
    return data
