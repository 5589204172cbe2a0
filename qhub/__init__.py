"""qhub: fast, self-explaining behave suites.

Public names are re-exported here and loaded lazily (PEP 562), so ``import qhub`` stays
cheap and never imports requests, redis, faker, psutil or yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports
from qhub._version import __version__
from qhub.exceptions import (
    APIClientError,
    CacheBackendError,
    CacheError,
    ConfigError,
    DataError,
    PatternError,
    PerformanceRegression,
    ProfilerError,
    QHubError,
    ResponseValidationError,
    SerializationError,
    StressError,
    TemplateError,
)

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # configuration
    "QHubConfig": "qhub.config",
    "load_config": "qhub.config",
    # behave
    "install": "qhub.behave",
    # API client
    "APIClient": "qhub.api",
    "BaseAPIClient": "qhub.api",
    # cache
    "CacheManager": "qhub.cache",
    "MemoryCacheBackend": "qhub.cache",
    "RedisCacheBackend": "qhub.cache",
    "DiskCacheBackend": "qhub.cache",
    "LayeredCacheBackend": "qhub.cache",
    "cache_result": "qhub.cache",
    # test data
    "DatabaseTestDataGenerator": "qhub.data",
    "TestDataCache": "qhub.data",
    "CacheAwareDataReader": "qhub.data",
    "generate_cached_users": "qhub.data",
    "cached_user_data": "qhub.data",
    # profiling
    "PerformanceProfiler": "qhub.profiling",
    "profile_block": "qhub.profiling",
    "profile_method": "qhub.profiling",
    "start_global_profiling": "qhub.profiling",
    "stop_global_profiling": "qhub.profiling",
    "get_global_performance_report": "qhub.profiling",
    "get_performance_dashboard": "qhub.profiling",
    # imports
    "ImportOptimizer": "qhub.imports",
    "profile_imports": "qhub.imports",
    "lazy_import": "qhub.imports",
    "create_lazy_loader": "qhub.imports",
    "audit_step_definitions": "qhub.audit",
}

__all__ = [
    "APIClient",
    "APIClientError",
    "BaseAPIClient",
    "CacheAwareDataReader",
    "CacheBackendError",
    "CacheError",
    "CacheManager",
    "ConfigError",
    "DataError",
    "DatabaseTestDataGenerator",
    "DiskCacheBackend",
    "ImportOptimizer",
    "LayeredCacheBackend",
    "MemoryCacheBackend",
    "PatternError",
    "PerformanceProfiler",
    "PerformanceRegression",
    "ProfilerError",
    "QHubConfig",
    "QHubError",
    "RedisCacheBackend",
    "ResponseValidationError",
    "SerializationError",
    "StressError",
    "TemplateError",
    "TestDataCache",
    "__version__",
    "audit_step_definitions",
    "cache_result",
    "cached_user_data",
    "create_lazy_loader",
    "generate_cached_users",
    "get_global_performance_report",
    "get_performance_dashboard",
    "install",
    "lazy_import",
    "load_config",
    "profile_block",
    "profile_imports",
    "profile_method",
    "start_global_profiling",
    "stop_global_profiling",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from qhub.api import APIClient, BaseAPIClient
    from qhub.audit import audit_step_definitions
    from qhub.behave import install
    from qhub.cache import (
        CacheManager,
        DiskCacheBackend,
        LayeredCacheBackend,
        MemoryCacheBackend,
        RedisCacheBackend,
        cache_result,
    )
    from qhub.config import QHubConfig, load_config
    from qhub.data import (
        CacheAwareDataReader,
        DatabaseTestDataGenerator,
        TestDataCache,
        cached_user_data,
        generate_cached_users,
    )
    from qhub.imports import (
        ImportOptimizer,
        create_lazy_loader,
        lazy_import,
        profile_imports,
    )
    from qhub.profiling import (
        PerformanceProfiler,
        get_global_performance_report,
        get_performance_dashboard,
        profile_block,
        profile_method,
        start_global_profiling,
        stop_global_profiling,
    )
