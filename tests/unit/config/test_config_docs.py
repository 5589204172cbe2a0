"""docs/configuration.md documents every setting the schema knows."""

from __future__ import annotations

from pathlib import Path

from qhub.config import known_keys
from qhub.config.schema import LEGACY_ENV

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [k for k in known_keys() if "<name>" not in k and f"`{k}`" not in text]
    assert missing == []


def test_every_reference_variable_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert [name for name in LEGACY_ENV if f"`{name}`" not in text] == []


def test_settings_tables_match_the_schema() -> None:
    """The "Every setting" tables are exactly what the schema says (regenerate with
    ``python -m qhub.config.reference``)."""
    from qhub.config.reference import settings_reference

    assert settings_reference() in DOC.read_text(encoding="utf-8")
