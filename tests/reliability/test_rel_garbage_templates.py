"""Garbage test-data template files: a one-line TemplateError naming the file, or valid data."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qhub
import qhub.data
from qhub.exceptions import DataError

KEYS = st.sampled_from([
    "templates", "datasets", "kind", "fields", "faker", "value", "choice", "sequence", "ref",
    "of", "format", "unique", "args", "count", "users", "products", "template", "overrides",
    "description", "user", "product", "order", "name", "email", "first_name", "pyint",
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), KEYS,
)
NODES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(KEYS, st.text(max_size=6)),
                                                     inner, max_size=4),
    ),
    max_leaves=25,
)
DOCS = st.one_of(
    st.fixed_dictionaries({"templates": st.dictionaries(st.text(max_size=8), NODES, max_size=3)}),
    st.fixed_dictionaries({"datasets": st.dictionaries(st.text(max_size=8), NODES, max_size=3)}),
    st.dictionaries(KEYS, NODES, max_size=3),
    NODES,
)
FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _load(folder: Path) -> Any:
    reader = qhub.CacheAwareDataReader(None, templates_dir=folder, root=folder)
    loaded = reader.load()
    data = qhub.data.TestData(None, templates=loaded)
    for name in loaded.templates:
        reader.read_template(name)
        data.records(name, 2)
    for name in loaded.datasets:
        data.dataset(name)
    return loaded


def _check(folder: Path, filename: str) -> None:
    try:
        _load(folder)
    except DataError as exc:
        message = str(exc)
        assert "\n" not in message, f"error spans several lines: {message!r}"
        assert filename in message, f"error does not name the file: {message!r}"


class TestGarbageTemplates:
    """Random documents and random text in template files."""

    @FAST
    @given(doc=DOCS, as_json=st.booleans())
    def test_structured_garbage(self, doc: Any, as_json: bool) -> None:
        """Well-formed YAML/JSON with nonsense structure: valid, or a one-line TemplateError."""
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            name = "t.json" if as_json else "t.yaml"
            text = json.dumps(doc) if as_json else yaml.safe_dump(doc)
            (folder / name).write_text(text)
            _check(folder, name)

    @FAST
    @given(text=st.one_of(st.text(max_size=300), st.binary(max_size=200).map(repr)))
    def test_random_text(self, text: str) -> None:
        """Arbitrary text (usually broken YAML): a one-line error naming the file."""
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "t.yaml").write_text(text, errors="surrogateescape")
            _check(folder, "t.yaml")

    def test_invalid_utf8(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 are refused with file and line."""
        (tmp_path / "t.yaml").write_bytes(b"templates:\n  a: \xff\xfe\n")
        try:
            _load(tmp_path)
        except DataError as exc:
            assert "t.yaml:" in str(exc)
        else:
            raise AssertionError("invalid UTF-8 was accepted")
