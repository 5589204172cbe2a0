"""Template errors stay on one line, whatever control characters the file holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qhub.data import CacheAwareDataReader, TestData
from qhub.exceptions import DataError, TemplateError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _error(tmp_path: Path, name: str, text: str) -> str:
    folder = _write(tmp_path, name, text)
    with pytest.raises(TemplateError) as info:
        CacheAwareDataReader(None, templates_dir=folder, root=tmp_path).load()
    message = str(info.value)
    assert message.splitlines() == [message], f"not one line: {message!r}"
    return message


def test_control_character_is_a_template_error_with_its_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "t.yaml", "templates:\n  a:\n    fields: {x: \x1f}\n")
    assert message == ("templates/t.yaml:3: malformed YAML: unacceptable character #x001f: "
                       "special characters are not allowed")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('templates:\n  "bad\\nname": [1]\n',
         "templates/t.yaml:2: template 'bad\\nname': must be a mapping with 'fields'"),
        ('templates:\n  t:\n    fields:\n      "a\\rb": {faker: "no\\npe"}\n',
         "templates/t.yaml:4: field 'a\\rb': unknown provider 'no\\npe'"),
        ('datasets:\n  d:\n    "e\\u2028x": {kind: "us\\ner"}\n',
         "templates/t.yaml:3: dataset 'd' entry 'e\\u2028x': unknown kind or template "
         "'us\\ner'"),
        ('templates:\n  "a\\tb": {kind: "x\\ny", fields: {f: 1}}\n',
         "templates/t.yaml:2: template 'a\\tb': unknown kind or template 'x\\ny'"),
        ('"top\\nkey": 1\n',
         "templates/t.yaml:1: key 'top\\nkey': unknown top-level key"),
    ],
    ids=["template-name", "field-and-provider", "dataset-entry", "resolve", "top-level"],
)
def test_names_with_control_characters_are_escaped(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert _error(tmp_path, "t.yaml", text).startswith(expected)


def test_lone_surrogate_is_refused_but_json_surrogate_pairs_work(tmp_path: Path) -> None:
    message = _error(tmp_path, "t.yaml", 'templates:\n  t: {fields: {x: "\\ud800"}}\n')
    assert message.startswith("templates/t.yaml:2: text '\\ud800' is not valid Unicode")
    folder = _write(tmp_path, "t.yaml", json.dumps({"templates": {"\U00010000": {
        "fields": {"x": 1}}}}))
    (folder / "t.yaml").rename(folder / "t.json")
    loaded = CacheAwareDataReader(None, templates_dir=folder, root=tmp_path).load()
    assert list(loaded.templates) == ["\U00010000"]
    assert TestData(None, templates=loaded).records("\U00010000", 2)[1] == {"id": 2, "x": 1}


def test_deep_nesting_is_a_template_error(tmp_path: Path) -> None:
    message = _error(tmp_path, "t.yaml", "[" * 5000)
    assert message.startswith("templates/t.yaml:1: malformed YAML")
    message = _error(tmp_path, "d.json", "[" * 5000 + "]" * 5000)
    assert message.startswith("templates/d.json:1: malformed JSON: nested too deeply")


def test_stored_keys_with_newlines_stay_on_one_line() -> None:
    data = TestData(None)
    data.users(1, key="two\nlines")
    with pytest.raises(DataError) as info:
        data.get("missing")
    assert str(info.value) == "no test data stored under 'missing' (stored: two\\nlines)"
