"""Garbage configuration: always a one-line ConfigError naming the setting, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhub.config import known_keys, load_config
from qhub.exceptions import ConfigError

SETTABLE = [k for k in known_keys() if "<name>" not in k]
GARBAGE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["-1", "0", "1e309", "nan", "inf", "[", "{", "{}", "[]", "a=b,c", "null",
                     "true", "redis://", "\x00", "9" * 40, "lru,lfu", "{'a': 1}"]),
)
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check_error(exc: ConfigError, needle: str) -> None:
    message = str(exc)
    assert message.strip(), "empty error message"
    assert "\n" not in message, f"error spans several lines: {message!r}"
    assert needle in message, f"error does not name {needle!r}: {message!r}"


def _env_name(key: str) -> str:
    return "QHUB_" + key.replace(".", "_").upper()


class TestGarbageSettingValues:
    """Any text for any setting, from each text source, loads or fails with one clean line."""

    @FAST
    @given(key=st.sampled_from(SETTABLE), value=GARBAGE_TEXT)
    def test_environment_variable(self, tmp_path: Path, key: str, value: str) -> None:
        """A QHUB_* variable with garbage is accepted or refused naming the variable."""
        name = _env_name(key)
        try:
            config = load_config(tmp_path, environ={name: value})
        except ConfigError as exc:
            _check_error(exc, name)
        else:
            section, field = key.split(".")
            assert hasattr(getattr(config, section), field)

    @FAST
    @given(key=st.sampled_from(SETTABLE), value=GARBAGE_TEXT)
    def test_behave_userdata(self, tmp_path: Path, key: str, value: str) -> None:
        """``-D qhub.<key>=<garbage>`` is accepted or refused naming the -D option."""
        try:
            load_config(tmp_path, environ={}, userdata={f"qhub.{key}": value})
        except ConfigError as exc:
            _check_error(exc, f"qhub.{key}")

    @FAST
    @given(key=st.text(min_size=1, max_size=30), value=GARBAGE_TEXT)
    def test_unknown_userdata_key(self, tmp_path: Path, key: str, value: str) -> None:
        """An unknown ``qhub.*`` key is refused with one line, or accepted if it is real."""
        try:
            load_config(tmp_path, environ={}, userdata={f"qhub.{key}": value})
        except ConfigError as exc:
            _check_error(exc, "qhub.")


class TestGarbageConfigFiles:
    """Config files holding arbitrary text or bytes."""

    @FAST
    @given(
        name=st.sampled_from(["qhub.yaml", "qhub.json", "pyproject.toml"]),
        body=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(repr)),
    )
    def test_arbitrary_file_content(self, name: str, body: str) -> None:
        """A file of random text loads (if it happens to be valid) or fails naming the file."""
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            text = f"[tool.qhub]\n{body}" if name == "pyproject.toml" else body
            (root / name).write_text(text, encoding="utf-8", errors="surrogateescape")
            try:
                load_config(root, environ={})
            except ConfigError as exc:
                _check_error(exc, name)

    @FAST
    @given(
        key=st.sampled_from(SETTABLE),
        value=st.one_of(
            st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
            st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                 st.integers(), max_size=3),
        ),
    )
    def test_wrong_typed_json_value(self, key: str, value: object) -> None:
        """Typed JSON values of the wrong type are refused naming file and setting."""
        import json

        section, field = key.split(".")
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "qhub.json").write_text(json.dumps({section: {field: value}}))
            try:
                load_config(root, environ={})
            except ConfigError as exc:
                _check_error(exc, "qhub.json")

    def test_binary_garbage_file(self, tmp_path: Path) -> None:
        """Invalid UTF-8 in qhub.yaml is one clean error naming the file."""
        (tmp_path / "qhub.yaml").write_bytes(b"\xff\xfe\x00garbage\x80")
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path, environ={})
        _check_error(info.value, "qhub.yaml")


BEHAVE_GARBAGE = [
    ("qhub.cache.backend", "mongodb"),
    ("qhub.api.pool_maxsize", "-3"),
    ("qhub.api.retries", "many"),
    ("qhub.cache.default_ttl", "1e309"),
    ("qhub.nosuch.key", "1"),
    ("qhub.redis.port", "70000"),
]


@pytest.mark.parametrize(("key", "value"), BEHAVE_GARBAGE)
def test_behave_d_garbage_stops_before_any_test(
    tmp_path: Path, kit, behave_run, key: str, value: str
) -> None:
    """``behave -D qhub.x=garbage``: one "qhub: error:" line naming the key, no traceback,
    and no scenario runs."""
    marker = tmp_path / "ran"
    kit.write_project(
        tmp_path,
        {"one.feature": "Feature: f\n  Scenario: s\n    Given a step that leaves a marker\n"},
        {"steps.py": f"""
            from behave import given

            @given("a step that leaves a marker")
            def step(context):
                open({str(marker)!r}, "w").close()
         """},
    )
    result = behave_run(tmp_path, "-D", f"{key}={value}", env=kit.qhub_env(tmp_path))
    assert result.returncode != 0
    assert not marker.exists(), "a scenario ran although the config was invalid"
    errors = [line for line in result.output.splitlines() if line.startswith("qhub: error:")]
    assert len(errors) == 1, result.output
    assert key in errors[0], errors[0]
    assert "Traceback" not in result.output, result.output
