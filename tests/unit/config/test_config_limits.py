"""Every setting has explicit limits, checked at start-up with the one-line error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qhub._redact import redact_text
from qhub.config import load_config
from qhub.exceptions import ConfigError


def error_of(tmp_path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={}, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


class TestLimits:
    """Values that used to pass validation and fail later."""

    def test_timeout_that_would_overflow(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, overrides={"api.read_timeout": 1e300}) == (
            "api.read_timeout=1e+300 (from overrides passed in code): "
            "must be a number from 0.001 to 86400"
        )

    def test_retention_that_would_overflow(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, overrides={"profiling.history_retention": 2**70}).endswith(
            "must be a whole number from 1 to 1,000,000"
        )

    def test_unknown_report_format(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, overrides={"report.formats": ["json", "pdf"]}) == (
            "report.formats=['json', 'pdf'] (from overrides passed in code): "
            "must be a list of json, html, markdown, prometheus"
        )

    def test_header_name_with_newline(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, overrides={"api.headers": {"X-A\nInjected": "1"}}) == (
            "api.headers=<redacted> (from overrides passed in code): "
            "header name 'X-A\\nInjected' is not a valid HTTP header name"
        )

    def test_header_value_with_newline(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, overrides={"api.headers": {"X-Trace": "a\r\nHost: evil"}})
        assert message.endswith("header 'X-Trace' has a line break or NUL in its value")

    @pytest.mark.parametrize("namespace", ["", "a b", "users:*", "x?"])
    def test_namespace_that_would_share_or_glob(self, tmp_path: Path, namespace: str) -> None:
        assert "cache.namespace=" in error_of(tmp_path, overrides={"cache.namespace": namespace})

    def test_retry_status_out_of_http_range(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, overrides={"api.retry_statuses": [503, 999]}).endswith(
            "must be a list (JSON list or comma-separated) from 100 to 599"
        )

    def test_budget_not_positive(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, overrides={"api.latency_budgets_ms": {"GET /x": 0}})
        assert message.endswith(
            "budget for 'GET /x' must be a number of ms above 0 and at most a day"
        )


class TestHostileFiles:
    """Config files that are bombs, abysses or not files at all."""

    def test_yaml_alias_bomb(self, tmp_path: Path) -> None:
        lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
            lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        (tmp_path / "qhub.yaml").write_text("\n".join(lines) + "\n")
        assert error_of(tmp_path) == (
            "qhub.yaml: YAML expands to more than 100,000 values"
            " (aliases included)"
        )

    def test_json_nested_thousands_deep(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.json").write_text('{"cache": ' + "[" * 5000 + "]" * 5000 + "}")
        assert error_of(tmp_path) in (
            "qhub.json: nested too deeply",
            "qhub.json: nested deeper than 16 levels",
        )

    def test_toml_nested_deep(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            "[tool.qhub.cache]\nbackend = " + "[" * 200 + "]" * 200 + "\n"
        )
        assert error_of(tmp_path) in (
            "pyproject.toml: nested too deeply",
            "pyproject.toml: nested deeper than 16 levels",
        )

    def test_fifo_named_as_config_file(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "qhub.yaml")
        assert error_of(tmp_path).endswith("is not a regular file (a FIFO)")

    def test_huge_config_file(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.yaml").write_bytes(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")
        assert "the limit is 1,048,576" in error_of(tmp_path)


class TestSecretsRemembered:
    """Secrets in config are scrubbed from any text qhub writes afterwards."""

    def test_header_token_and_redis_password(self, tmp_path: Path) -> None:
        load_config(
            tmp_path,
            environ={},
            overrides={
                "api.headers": {"X-Api-Key": "k-12345-secret", "Accept": "application/json"},
                "redis.url": "redis://:p@ss word@cache:6379/0",
                "api.auth_token": "tok-abcdef",
            },
        )
        text = "argv: -D qhub.api.headers={'X-Api-Key': 'k-12345-secret'} tok-abcdef p@ss word"
        scrubbed = redact_text(text)
        assert "k-12345-secret" not in scrubbed
        assert "tok-abcdef" not in scrubbed
        assert "p@ss word" not in scrubbed
        assert "application/json" in redact_text("Accept: application/json")
