"""Limits on templates and datasets, and the re-check of cached template content."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qhub.cache import CacheManager
from qhub.config import load_config
from qhub.data import CacheAwareDataReader, TestData
from qhub.data.templates import Limits, check_content, oversized_argument
from qhub.exceptions import DataError, TemplateError

LIMITS = Limits(max_records=50, max_faker_size=100)


class TestOversizedArgument:
    """Size-like Faker parameters and long text are capped; values are not."""

    @pytest.mark.parametrize(("arguments", "bad"), [
        ({"max_chars": 101}, True), ({"nb_words": 101}, True), ({"length": 10**9}, True),
        ({"left_digits": 101}, True), ({"num_rows": 101}, True), ({"size": [10, 101]}, True),
        ({"text": "#" * 101}, True), ({"max_value": 10**9}, False), ({"min_value": -5}, False),
        ({"nb": 100}, False), ({"elements": [10**9]}, False), ({"variable_nb_words": True}, False),
    ])
    def test_table(self, arguments: dict[str, Any], bad: bool) -> None:
        assert (oversized_argument(arguments, LIMITS) is not None) is bad


@pytest.fixture
def content(write_template: Callable[[str, str], Path], tmp_path: Path) -> dict[str, Any]:
    write_template("t.yaml", """
        templates:
          member:
            kind: user
            fields:
              motto: {faker: pystr, args: [5, 20]}
              tier: {choice: [gold, silver]}
              badge: {format: "{tier}-{id:04d}"}
              boss: {ref: user.id, of: 5}
              code: {sequence: "M-{n}"}
        datasets:
          club:
            members: {template: member, count: 3}
    """)
    reader = CacheAwareDataReader(None, tmp_path / "templates", root=tmp_path, limits=LIMITS)
    return reader._read(reader.files()[0])


class TestCachedContentCheck:
    """What validation produced passes; anything else makes the reader parse again."""

    def test_validated_content_passes(self, content: dict[str, Any]) -> None:
        assert check_content(content, LIMITS)
        motto = content["templates"]["member"]["fields"]["motto"]
        assert motto["args"] == [] and motto["kwargs"] == {"min_chars": 5, "max_chars": 20}

    @pytest.mark.parametrize("damage", [
        lambda c: c["templates"]["member"]["fields"]["motto"]["kwargs"].update(max_chars=10**9),
        lambda c: c["templates"]["member"]["fields"]["motto"].update(faker="add_provider"),
        lambda c: c["templates"]["member"]["fields"]["motto"].update(faker="_private"),
        lambda c: c["templates"]["member"]["fields"]["boss"].update(of=10**9),
        lambda c: c["datasets"]["club"]["entries"]["members"].update(count=10**9),
        lambda c: c["templates"]["member"]["fields"].update(x={"eval": "1"}),
        lambda c: c["templates"]["member"].update(line="1"),
        lambda c: c.update(extra=1),
        lambda c: c["templates"].update(user={"name": "user"}),
    ], ids=["giant-arg", "machinery", "private", "of", "count", "unknown-directive",
            "line-type", "extra-key", "builtin-name"])
    def test_tampered_content_fails(self, content: dict[str, Any],
                                    damage: Callable[[dict[str, Any]], None]) -> None:
        tampered = copy.deepcopy(content)
        damage(tampered)
        assert not check_content(tampered, LIMITS)


def test_limits_come_from_config(tmp_path: Path, memory_cache: CacheManager) -> None:
    """data.max_records bounds templates and run-time counts alike."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "d.yaml").write_text("datasets:\n  big:\n    people: {kind: user, count: 6}\n")
    config = load_config(tmp_path, environ={"QHUB_DATA_MAX_RECORDS": "5",
                                            "QHUB_CACHE_BACKEND": "memory"})
    with pytest.raises(TemplateError, match=r"d\.yaml:3: .*data\.max_records is 5"):
        TestData.from_config(config)
    (folder / "d.yaml").unlink()
    data = TestData.from_config(config)
    try:
        assert len(data.users(5)) == 5
        with pytest.raises(DataError, match=r"data\.max_records"):
            data.users(6)
    finally:
        data.close()
