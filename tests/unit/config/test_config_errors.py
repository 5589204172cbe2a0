"""Bad configuration: one line naming the setting, where it came from, and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhub.config import load_config
from qhub.exceptions import ConfigError


def error_of(tmp_path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


class TestBadValues:
    """Each kind of bad value is named with its source and the allowed values."""

    def test_bad_choice_from_env(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, environ={"QHUB_CACHE_BACKEND": "redsi"}) == (
            "cache.backend='redsi' (from environment variable QHUB_CACHE_BACKEND): "
            "must be one of memory, disk, redis, layered"
        )

    def test_out_of_range_from_userdata(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={}, userdata={"qhub.api.pool_maxsize": "0"})
        assert message == (
            "api.pool_maxsize='0' (from behave userdata -D qhub.api.pool_maxsize): "
            "must be a whole number from 1 to 10000"
        )

    def test_wrong_type_in_yaml_names_file_and_line(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.yaml").write_text(
            "# comment\ncache:\n  backend: memory\n  max_size: lots\n", encoding="utf-8"
        )
        assert error_of(tmp_path, environ={}) == (
            "cache.max_size='lots' (from qhub.yaml:4): must be a whole number from 1 to 100,000,000"
        )

    def test_wrong_type_in_pyproject_names_line(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[project]\nname = "x"\n\n[tool.qhub.profiling]\nenabled = "sometimes"\n',
            encoding="utf-8",
        )
        assert error_of(tmp_path, environ={}) == (
            "profiling.enabled='sometimes' (from pyproject.toml:5): must be true or false"
        )

    def test_bool_is_not_a_number(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.json").write_text('{"redis": {"port": true}}', encoding="utf-8")
        assert (
            error_of(tmp_path, environ={})
        ) == "redis.port=True (from qhub.json:1): must be a whole number from 1 to 65535"

    def test_secret_values_are_not_echoed(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={}, overrides={"redis.password": 12345})
        assert "12345" not in message
        assert message.startswith("redis.password=<redacted> (from overrides passed in code)")

    def test_named_api_needs_base_url(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={"QHUB_APIS_BILLING_READ_TIMEOUT": "3"})
        assert message.startswith("apis.billing.base_url is required for a named API")


class TestUnknownKeys:
    """Unknown keys are errors with a did-you-mean (env vars only warn)."""

    def test_typo_in_userdata(self, tmp_path: Path) -> None:
        assert error_of(tmp_path, environ={}, userdata={"qhub.cache.backnd": "x"}) == (
            "unknown setting 'cache.backnd' (from behave userdata -D qhub.cache.backnd); "
            "did you mean 'cache.backend'?"
        )

    def test_typo_in_yaml_section(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.yaml").write_text("profilng:\n  enabled: true\n", encoding="utf-8")
        message = error_of(tmp_path, environ={})
        assert message.startswith("unknown setting 'profilng' (from qhub.yaml:1)")

    def test_typo_in_named_api(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={}, overrides={"apis.billing.base_ur": "http://x"})
        assert message.endswith("did you mean 'apis.billing.base_url'?")

    def test_unknown_env_var_only_warns(self, tmp_path: Path, capfd) -> None:
        cfg = load_config(tmp_path, environ={"QHUB_CACHE_BACKNED": "redis"})
        assert cfg.cache.backend == "disk"
        assert capfd.readouterr().err.splitlines() == [
            "qhub: warning: environment variable QHUB_CACHE_BACKNED is not a qhub setting"
            " (ignored); did you mean QHUB_CACHE_BACKEND?"
        ]


class TestBrokenFiles:
    """Unparsable files are named with their line."""

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.yaml").write_text("cache:\n  backend: [memory\n", encoding="utf-8")
        assert error_of(tmp_path, environ={}).startswith("qhub.yaml:3: not valid YAML")

    def test_invalid_json(self, tmp_path: Path) -> None:
        (tmp_path / "qhub.json").write_text('{\n "cache": {,}\n}', encoding="utf-8")
        assert error_of(tmp_path, environ={}).startswith("qhub.json:2: not valid JSON")

    def test_invalid_toml(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text("[tool.qhub\n", encoding="utf-8")
        assert error_of(tmp_path, environ={}).startswith("pyproject.toml: not valid TOML")

    def test_missing_explicit_file(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={"QHUB_CONFIG": "nope.yaml"})
        assert "does not exist" in message


class TestHostileInput:
    """Input that could break the one-line promise or sneak in unusable values."""

    @pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e309"])
    def test_non_finite_numbers_are_refused(self, tmp_path: Path, text: str) -> None:
        message = error_of(tmp_path, environ={"QHUB_API_READ_TIMEOUT": text})
        assert message.startswith(f"api.read_timeout='{text}'")

    def test_control_characters_in_keys_stay_on_one_line(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={}, userdata={"qhub.cache.back\nend": "x"})
        assert "'cache.back\\nend'" in message

    def test_api_names_must_be_plain(self, tmp_path: Path) -> None:
        message = error_of(tmp_path, environ={}, overrides={"apis.bad name.base_url": "http://x"})
        assert message.startswith("unknown setting 'apis.bad name.base_url'")
