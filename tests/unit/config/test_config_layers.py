"""Configuration: every layer, its precedence, and the errors a user sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qhub.config import load_config
from qhub.exceptions import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestDefaults:
    """With no files, env or userdata, the documented defaults apply."""

    def test_defaults(self, tmp_path: Path) -> None:
        cfg = load_config(tmp_path, environ={})
        assert cfg.cache.backend == "disk"
        assert cfg.api.pool_maxsize == 20
        assert cfg.profiling.history_db == ".qhub/history.db"
        assert cfg.origin("cache.backend") == "default"
        assert cfg.files == ()

    def test_paths_resolve_against_root(self, tmp_path: Path) -> None:
        cfg = load_config(tmp_path, environ={})
        assert cfg.path(cfg.cache.path) == tmp_path / ".qhub" / "cache.db"


class TestPrecedence:
    """defaults < pyproject < qhub.json < qhub.yaml < env (legacy < QHUB_) < userdata < code."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        write(
            tmp_path / "pyproject.toml",
            '[project]\nname = "x"\n\n[tool.qhub.cache]\nmax_size = 11\ndefault_ttl = 11\n'
            "namespace = 'toml'\neviction = 'lfu'\nlayered_front_size = 11\n",
        )
        write(
            tmp_path / "qhub.json",
            json.dumps(
                {
                    "cache": {
                        "default_ttl": 22,
                        "namespace": "json",
                        "eviction": "fifo",
                        "layered_front_size": 22,
                    }
                }
            ),
        )
        write(
            tmp_path / "qhub.yaml",
            "cache:\n  namespace: yaml\n  eviction: ttl\n  layered_front_size: 33\n",
        )
        return tmp_path

    def test_each_layer_wins_over_the_one_below(self, project: Path) -> None:
        cfg = load_config(
            project,
            environ={
                "CACHE_MAX_SIZE": "44",
                "QHUB_CACHE_COMPRESS_THRESHOLD": "44",
                "QHUB_CACHE_LAYERED_FRONT_SIZE": "44",
                "QHUB_CACHE_LOCK_TIMEOUT": "4",
            },
            userdata={"qhub.cache.layered_front_size": "55", "qhub.cache.lock_timeout": "5"},
            overrides={"cache.lock_timeout": 6.0},
        )
        assert cfg.cache.max_size == 44  # env (legacy name) over pyproject
        assert cfg.cache.default_ttl == 22  # json over pyproject
        assert cfg.cache.namespace == "yaml"  # yaml over json
        assert cfg.cache.eviction == "ttl"
        assert cfg.cache.compress_threshold == 44
        assert cfg.cache.layered_front_size == 55  # userdata over env
        assert cfg.cache.lock_timeout == 6.0  # code overrides over userdata
        assert cfg.origin("cache.namespace") == "qhub.yaml:2"
        assert cfg.origin("cache.default_ttl").startswith("qhub.json:")
        assert cfg.origin("cache.layered_front_size") == (
            "behave userdata -D qhub.cache.layered_front_size"
        )

    def test_qhub_prefixed_env_wins_over_reference_name(self, tmp_path: Path) -> None:
        cfg = load_config(tmp_path, environ={"REDIS_PORT": "7000", "QHUB_REDIS_PORT": "7001"})
        assert cfg.redis.port == 7001
        assert cfg.origin("redis.port") == "environment variable QHUB_REDIS_PORT"

    @pytest.mark.parametrize(
        ("name", "value", "key", "expected"),
        [
            ("CACHE_BACKEND", "redis", "cache.backend", "redis"),
            ("CACHE_TTL", "60", "cache.default_ttl", 60),
            ("CACHE_MAX_SIZE", "5", "cache.max_size", 5),
            ("REDIS_HOST", "10.1.2.3", "redis.host", "10.1.2.3"),
            ("REDIS_DB", "3", "redis.db", 3),
            ("REDIS_PASSWORD", "pw", "redis.password", "pw"),
            ("REDIS_URL", "rediss://h:1/2", "redis.url", "rediss://h:1/2"),
            ("ENABLE_PERFORMANCE_PROFILING", "false", "profiling.enabled", False),
            ("ENABLE_MEMORY_PROFILING", "no", "profiling.memory", False),
            ("PERFORMANCE_BASELINE_FILE", "b.json", "profiling.baseline_file", "b.json"),
            ("API_POOL_CONNECTIONS", "3", "api.pool_connections", 3),
            ("API_POOL_MAXSIZE", "4", "api.pool_maxsize", 4),
            ("API_ENABLE_WARMUP", "off", "api.enable_warmup", False),
        ],
    )
    def test_reference_environment_names(
        self, tmp_path: Path, name: str, value: str, key: str, expected: object
    ) -> None:
        cfg = load_config(tmp_path, environ={name: value})
        section, field = key.split(".")
        assert getattr(getattr(cfg, section), field) == expected

    def test_explicit_config_file_replaces_discovery(self, tmp_path: Path) -> None:
        write(tmp_path / "qhub.yaml", "cache:\n  namespace: discovered\n")
        other = write(tmp_path / "ci.yaml", "cache:\n  namespace: explicit\n")
        assert load_config(tmp_path, environ={"QHUB_CONFIG": str(other)}).cache.namespace == (
            "explicit"
        )


class TestFileFormats:
    """The three file formats, the reference JSON layout, and named APIs."""

    def test_reference_document_json_layout(self, tmp_path: Path) -> None:
        write(
            tmp_path / "qhub.json",
            json.dumps(
                {
                    "performance": {
                        "caching": {
                            "enabled": True,
                            "backend": "memory",
                            "default_ttl": 3600,
                            "max_size": 1000,
                            "enable_warming": True,
                        },
                        "connection_pooling": {
                            "pool_connections": 10,
                            "pool_maxsize": 20,
                            "pool_block": False,
                            "enable_warmup": True,
                        },
                        "profiling": {
                            "enabled": True,
                            "enable_memory_profiling": True,
                            "baseline_file": "performance_baselines.json",
                            "regression_threshold_percent": 20.0,
                        },
                        "import_optimization": {
                            "enabled": True,
                            "lazy_loading_modules": ["selenium.webdriver", "pandas"],
                        },
                    }
                },
                indent=2,
            ),
        )
        cfg = load_config(tmp_path, environ={})
        assert cfg.cache.backend == "memory"
        assert cfg.cache.enable_warming is True
        assert cfg.profiling.baseline_file == "performance_baselines.json"
        assert cfg.imports.lazy_modules == ["selenium.webdriver", "pandas"]
        assert cfg.origin("cache.backend") == "qhub.json:5"

    def test_named_apis_inherit_the_default_api_settings(self, tmp_path: Path) -> None:
        write(
            tmp_path / "qhub.yaml",
            (
                "api:\n  base_url: http://main\n  pool_maxsize: 7\n"
                "apis:\n  billing:\n    base_url: http://billing\n    headers:\n"
                "      Authorization: Bearer s3cr3t\n"
            ),
        )
        cfg = load_config(tmp_path, environ={"QHUB_APIS_BILLING_READ_TIMEOUT": "9"})
        billing = cfg.api_settings("billing")
        assert billing.base_url == "http://billing"
        assert billing.pool_maxsize == 7
        assert billing.read_timeout == 9.0
        assert cfg.as_dict()["apis"]["billing"]["headers"] == {"Authorization": "<redacted>"}
        with pytest.raises(ConfigError, match="no API named 'nope'"):
            cfg.api_settings("nope")

    def test_mapping_and_list_values_from_text(self, tmp_path: Path) -> None:
        cfg = load_config(
            tmp_path,
            environ={
                "QHUB_API_LATENCY_BUDGETS_MS": "GET /pets/{id}=150,POST /users=90.5",
                "QHUB_REPORT_FORMATS": '["json", "markdown"]',
                "QHUB_IMPORTS_LAZY_MODULES": "pandas, numpy",
            },
        )
        assert cfg.api.latency_budgets_ms == {"GET /pets/{id}": 150.0, "POST /users": 90.5}
        assert cfg.report.formats == ["json", "markdown"]
        assert cfg.imports.lazy_modules == ["pandas", "numpy"]

    def test_none_from_text(self, tmp_path: Path) -> None:
        cfg = load_config(
            tmp_path,
            environ={"QHUB_API_BASE_URL": "http://x"},
            userdata={"qhub.api.base_url": "none"},
        )
        assert cfg.api.base_url is None
