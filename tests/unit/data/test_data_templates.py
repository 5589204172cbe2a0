"""Template files: rendering, references, parse caching, stale-proof keys, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qhub.cache import CacheManager
from qhub.data import CacheAwareDataReader, TestData
from qhub.exceptions import DataError, TemplateError

Write = Callable[[str, str], Path]

GOOD = """
templates:
  admin_user:
    kind: user
    description: an administrator
    fields:
      role: admin
      level: {faker: random_int, args: {min: 1, max: 5}}
      badge: {sequence: "ADM-{n:04d}"}
      login: {format: "{username}@corp.test", unique: true}
      team: {choice: [qa, dev, ops]}
      settings:
        theme: dark
        language: {faker: language_code}
      tags: [a, b]
      raw: {value: {nested: true}}
  super_admin:
    kind: admin_user
    fields:
      role: superadmin
  ticket:
    fields:
      title: {faker: sentence}
      owner: {ref: admin_user.id, of: 3}
      code: {faker: bothify, args: ["T-####"], unique: true}
datasets:
  regression_suite:
    admins: {template: admin_user, count: 3}
    shoppers: {kind: user, count: 4}
    catalog: {kind: product, count: 2, overrides: {category: test}}
    orders: {kind: order, count: 6, users: shoppers, products: catalog}
"""


def reader_for(path: Path, cache: CacheManager | None = None) -> CacheAwareDataReader:
    return CacheAwareDataReader(cache, path.parent, root=path.parent.parent)


def data_for(path: Path, cache: CacheManager | None = None) -> TestData:
    data = TestData(cache)
    data.templates = reader_for(path, cache).load()
    return data


class TestRendering:
    """Every directive produces what the format reference says."""

    def test_directives(self, write_template: Write) -> None:
        data = data_for(write_template("users.yaml", GOOD))
        admins = data.records("admin_user", 3)
        for n, admin in enumerate(admins, start=1):
            assert admin["role"] == "admin" and 1 <= admin["level"] <= 5
            assert admin["badge"] == f"ADM-{n:04d}"
            assert admin["login"] == f"{admin['username']}@corp.test"
            assert admin["team"] in {"qa", "dev", "ops"}
            assert admin["settings"]["theme"] == "dark" and admin["settings"]["language"]
            assert admin["tags"] == ["a", "b"] and admin["raw"] == {"nested": True}
            assert "email" in admin  # fields of the base kind stay

    def test_inheritance(self, write_template: Write) -> None:
        data = data_for(write_template("users.yaml", GOOD))
        boss = data.build("super_admin")
        assert boss["role"] == "superadmin" and boss["badge"] == "ADM-0001"

    def test_refs_point_at_existing_records(self, write_template: Write) -> None:
        data = data_for(write_template("users.yaml", GOOD))
        tickets = data.records("ticket", 20)
        admin_ids = {a["id"] for a in data.records("admin_user", 3)}
        assert {t["owner"] for t in tickets} <= admin_ids
        assert len({t["code"] for t in tickets}) == 20
        assert set(tickets[0]) == {"id", "title", "owner", "code"}

    def test_dataset_entries_reference_each_other(self, write_template: Write) -> None:
        data = data_for(write_template("users.yaml", GOOD))
        suite = data.dataset("regression_suite")
        assert [len(suite[k]) for k in ("admins", "shoppers", "catalog", "orders")] == [3, 4, 2, 6]
        assert {o["user_id"] for o in suite["orders"]} <= {u["id"] for u in suite["shoppers"]}
        prices = {p["id"]: p["price"] for p in suite["catalog"]}
        for order in suite["orders"]:
            assert all(i["unit_price"] == prices[i["product_id"]] for i in order["items"])
        assert all(p["category"] == "test" for p in suite["catalog"])
        assert data.get("regression_suite.admins") == suite["admins"]

    def test_json_templates(self, write_template: Write) -> None:
        path = write_template("p.json", '{"templates": {"cheap": {"kind": "product", '
                                        '"fields": {"price": 0.5}}}}')
        assert data_for(path).records("cheap", 2)[1]["price"] == 0.5


class TestReader:
    """CacheAwareDataReader: typed lookups and cached parsing."""

    def test_read_templates_and_datasets(self, write_template: Write) -> None:
        reader = reader_for(write_template("users.yaml", GOOD))
        admin = reader.read_user_templates("admin_user")
        assert admin["kind"] == "user" and admin["fields"]["role"] == {"value": "admin"}
        assert admin["file"] == "templates/users.yaml" and admin["line"] == 2
        assert reader.read_test_datasets("regression_suite")["entries"]["admins"]["count"] == 3
        with pytest.raises(DataError, match="describes user records, not product records"):
            reader.read_product_templates("admin_user")
        with pytest.raises(DataError, match="unknown dataset 'nope'"):
            reader.read_test_datasets("nope")

    def test_parse_is_cached(self, write_template: Write, memory_cache: CacheManager) -> None:
        path = write_template("users.yaml", GOOD)
        first = reader_for(path, memory_cache)
        first.load()
        second = reader_for(path, memory_cache)
        assert second.load().templates == first.load().templates
        assert (first.metrics.template_parse_misses, second.metrics.template_parse_hits) == (1, 1)
        assert second.metrics.template_parse_misses == 0

    def test_missing_folder_is_empty(self, tmp_path: Path) -> None:
        assert CacheAwareDataReader(None, tmp_path / "none").load().templates == {}


def test_editing_a_template_changes_the_key_and_regenerates(
    write_template: Write, memory_cache: CacheManager
) -> None:
    path = write_template("users.yaml", GOOD)
    before = data_for(path, memory_cache)
    old_key = before.recipe("super_admin", 2).key
    assert before.records("super_admin", 2)[0]["team"] in {"qa", "dev", "ops"}

    path.write_text(GOOD.replace("[qa, dev, ops]", "[sre]"), encoding="utf-8")
    after = data_for(path, memory_cache)
    assert after.recipe("super_admin", 2).key != old_key  # parent changed: child key too
    assert [a["team"] for a in after.records("super_admin", 2)] == ["sre", "sre"]
    assert after.get_cache_performance_metrics()["misses"] == 1
    assert after.recipe("ticket", 2).key != before.recipe("ticket", 2).key  # ref'd template


def test_editing_another_template_keeps_the_key(write_template: Write) -> None:
    path = write_template("users.yaml", GOOD)
    before = data_for(path).recipe("admin_user", 2).key
    path.write_text(GOOD.replace("title: {faker: sentence}", "title: fixed"), encoding="utf-8")
    assert data_for(path).recipe("admin_user", 2).key == before


BAD = [
    ("unknown provider", "templates:\n  t:\n    fields:\n      a: {faker: no_such_thing}\n",
     "templates/bad.yaml:4: field 'a': unknown provider 'no_such_thing'"),
    ("machinery is no provider", "templates:\n  t:\n    fields:\n      a: {faker: seed}\n",
     "templates/bad.yaml:4: field 'a': unknown provider 'seed'"),
    ("bad args", "templates:\n  t:\n    fields:\n      a: {faker: random_int, args: {mn: 1}}\n",
     "templates/bad.yaml:4: field 'a': bad arguments for provider 'random_int'"),
    ("nested field", "templates:\n  t:\n    fields:\n      a:\n        b: {faker: nope}\n",
     "templates/bad.yaml:5: field 'a.b': unknown provider 'nope'"),
    ("malformed yaml", "templates:\n  t: [unclosed\n", "templates/bad.yaml:3: malformed YAML"),
    ("unknown option", "templates:\n  t:\n    fields:\n      a: {faker: name, uniq: true}\n",
     "templates/bad.yaml:4: field 'a': unknown option 'uniq' for 'faker'"),
    ("two directives", "templates:\n  t:\n    fields:\n      a: {faker: name, value: 1}\n",
     "templates/bad.yaml:4: field 'a': use one of faker, value, not several"),
    ("unknown ref", "templates:\n  t:\n    fields:\n      a: {ref: ghost.id}\n",
     "templates/bad.yaml:2: template 't': field 'a': ref to unknown kind or template 'ghost'"),
    ("bad format field",
     "templates:\n  t:\n    kind: user\n    fields:\n      a: {format: '{nme}'}\n",
     "templates/bad.yaml:5: field 'a': format uses unknown field 'nme'"),
    ("cycle", "templates:\n  a: {kind: b, fields: {x: 1}}\n  b: {kind: a, fields: {y: 1}}\n",
     "circular reference a -> b -> a"),
    ("no fields", "templates:\n  t:\n    kind: user\n",
     "templates/bad.yaml:2: template 't': 'fields' must be a non-empty mapping"),
    ("top-level key", "template:\n  t: {}\n",
     "templates/bad.yaml:1: key 'template': unknown top-level key"),
    ("builtin clash", "templates:\n  user:\n    fields: {a: 1}\n",
     "templates/bad.yaml:2: template 'user': name clashes with a built-in kind"),
    ("dataset entry", "datasets:\n  d:\n    x: {template: ghost, count: 2}\n",
     "templates/bad.yaml:3: dataset 'd' entry 'x': unknown kind or template 'ghost'"),
    ("dataset count", "datasets:\n  d:\n    x: {kind: user, count: 0}\n",
     "templates/bad.yaml:3: dataset 'd' entry 'x': 'count' must be a positive integer"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_templates_name_file_line_and_field(
    write_template: Write, text: str, message: str
) -> None:
    path = write_template("bad.yaml", text)
    with pytest.raises(TemplateError) as info:
        reader_for(path).load()
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_json_names_the_line(write_template: Write) -> None:
    path = write_template("bad.json", '{"templates": {\n  "t": {"fields": }\n}}')
    with pytest.raises(TemplateError, match=r"^templates/bad.json:2: malformed JSON"):
        reader_for(path).load()


def test_duplicate_template_names_across_files(write_template: Write) -> None:
    write_template("a.yaml", "templates:\n  t: {fields: {x: 1}}\n")
    path = write_template("b.yaml", "templates:\n  t: {fields: {x: 2}}\n")
    with pytest.raises(TemplateError) as info:
        reader_for(path).load()
    assert str(info.value) == ("templates/b.yaml:2: template 't': already defined at "
                               "templates/a.yaml:2")
