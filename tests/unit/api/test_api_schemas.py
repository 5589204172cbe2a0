"""JSON Schema validation: compiled once per file, errors name the field path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qhub.api import SchemaStore
from qhub.api.schemas import check_fields
from qhub.exceptions import ResponseValidationError, SchemaError

PET = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"$ref": "owner.json"},
    },
    "additionalProperties": False,
}
OWNER = {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}


@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    (tmp_path / "pet.json").write_text(json.dumps(PET))
    (tmp_path / "owner.json").write_text(json.dumps(OWNER))
    (tmp_path / "list.yaml").write_text("type: array\nitems: {type: integer}\n")
    return SchemaStore(tmp_path)


class TestSchemaStore:
    """Validators are cached per schema file and recompiled only when it changes."""

    def test_1000_validations_compile_once(self, store: SchemaStore) -> None:
        for i in range(1000):
            store.check({"id": i, "name": f"pet{i}"}, "pet")
        assert store.compilations == 1

    def test_changed_file_is_recompiled(self, store: SchemaStore, tmp_path: Path) -> None:
        store.check({"id": 1, "name": "a"}, "pet")
        path = tmp_path / "pet.json"
        path.write_text(json.dumps({**PET, "required": ["id", "name", "tags"]}))
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        with pytest.raises(ResponseValidationError, match="'tags' is a required property"):
            store.check({"id": 1, "name": "a"}, "pet")
        assert store.compilations == 2

    def test_error_names_the_field_path(self, store: SchemaStore) -> None:
        with pytest.raises(ResponseValidationError) as err:
            store.check({"id": 1, "name": "a", "tags": ["x", 5]}, "pet", context="GET /pets/1")
        assert "at $.tags[1]: 5 is not of type 'string'" in str(err.value)
        assert str(err.value).startswith("GET /pets/1 does not match schema 'pet'")
        assert err.value.field_path == "$.tags[1]"  # type: ignore[attr-defined]
        assert isinstance(err.value, AssertionError)

    def test_ref_to_another_file(self, store: SchemaStore) -> None:
        store.check({"id": 1, "name": "a", "owner": {"email": "x@y"}}, "pet")
        with pytest.raises(ResponseValidationError, match=r"at \$\.owner: 'email' is a required"):
            store.check({"id": 1, "name": "a", "owner": {}}, "pet")

    def test_several_errors_are_listed(self, store: SchemaStore) -> None:
        with pytest.raises(ResponseValidationError) as err:
            store.check({"id": "x", "name": 3, "extra": 1, "tags": [1, 2]}, "pet")
        message = str(err.value)
        assert "(and 2 more)" in message
        assert len(err.value.problems) == 5  # type: ignore[attr-defined]

    def test_yaml_schema_and_paths(self, store: SchemaStore, tmp_path: Path) -> None:
        store.check([1, 2], "list")
        store.check([1, 2], tmp_path / "list.yaml")
        with pytest.raises(ResponseValidationError, match=r"at \$\[1\]"):
            store.check([1, "2"], "list")

    def test_missing_and_invalid_schemas(self, store: SchemaStore, tmp_path: Path) -> None:
        with pytest.raises(SchemaError, match=r"'nope' not found in .* \(tried nope, nope.json"):
            store.check({}, "nope")
        (tmp_path / "bad.json").write_text('{"type": 12}')
        with pytest.raises(SchemaError, match=r"bad\.json is invalid"):
            store.check({}, "bad")
        (tmp_path / "broken.json").write_text("{not json")
        with pytest.raises(SchemaError, match="not valid JSON"):
            store.check({}, "broken")
        with pytest.raises(SchemaError, match="no schemas folder"):
            SchemaStore(None).check({}, "pet")


class TestCheckFields:
    """The fast required/unexpected-fields check."""

    def test_required_and_unexpected(self) -> None:
        data = {"id": 1, "owner": {"name": "a"}, "tags": ["x"], "extra": True}
        check_fields(data, required=["id", "owner.name", "tags[0]"])
        with pytest.raises(ResponseValidationError) as err:
            check_fields(data, required=["owner.email", "tags[3]"], allowed=["id", "owner", "tags"])
        message = str(err.value)
        assert "at $.owner.email: required field is missing" in message
        assert "at $.tags[3]: required field is missing" in message
        assert "at $.extra: unexpected field" in message


class TestHostileSchemaFiles:
    """A schema file that is not a regular file, too deep or an alias bomb: one line."""

    def test_a_fifo_is_refused_without_blocking(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pet.json")
        with pytest.raises(SchemaError, match="is not a regular file"):
            SchemaStore(tmp_path).check({"id": 1}, "pet")

    def test_yaml_alias_bomb(self, tmp_path: Path) -> None:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
        (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
        with pytest.raises(SchemaError, match=r"bomb\.yaml"):
            SchemaStore(tmp_path).check({}, "bomb")

    def test_deep_json(self, tmp_path: Path) -> None:
        (tmp_path / "deep.json").write_text('{"a":' * 5000 + "1" + "}" * 5000)
        with pytest.raises(SchemaError, match=r"deep\.json"):
            SchemaStore(tmp_path).check({}, "deep")
