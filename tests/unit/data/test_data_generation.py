"""Built-in kinds: shapes, determinism, uniqueness, relationships, overrides, build()."""

from __future__ import annotations

import json

import pytest

from qhub.data import TestData
from qhub.data.kinds import KIND_FIELDS, KINDS, UNIQUE_FIELDS
from qhub.exceptions import DataError


@pytest.fixture(scope="module")
def data() -> TestData:
    return TestData(None, seed=7)


class TestKinds:
    """Every built-in kind makes plain JSON records with its documented fields."""

    @pytest.mark.parametrize("kind", sorted(KINDS))
    def test_fields_and_json(self, data: TestData, kind: str) -> None:
        records = data.records(kind, 5)
        assert len(records) == 5
        for record in records:
            assert tuple(record) == KIND_FIELDS[kind]
            assert json.loads(json.dumps(record)) == record
        assert [r["id"] for r in records] == [1, 2, 3, 4, 5]

    def test_unknown_kind_names_choices(self, data: TestData) -> None:
        with pytest.raises(DataError, match=r"unknown kind or template 'usr' \(known: .*user"):
            data.records("usr", 1)


class TestDeterminism:
    """Same seed and locale give the same records; anything else gives others."""

    def test_same_seed_same_records(self) -> None:
        assert TestData(None, seed=3).users(20) == TestData(None, seed=3).users(20)

    def test_other_seed_other_records(self) -> None:
        assert TestData(None, seed=3).users(5) != TestData(None, seed=4).users(5)

    def test_locale_changes_records(self) -> None:
        german = TestData(None, seed=3, locale="de_DE").addresses(5)
        assert german != TestData(None, seed=3).addresses(5)
        assert {a["country"] for a in german} == {"DE"}

    def test_call_order_does_not_matter(self) -> None:
        first = TestData(None, seed=3)
        first.products(7)
        second = TestData(None, seed=3)
        assert first.users(4) == second.users(4)

    def test_unknown_locale_is_a_data_error(self) -> None:
        with pytest.raises(DataError, match="unknown Faker locale 'xx_YY'"):
            TestData(None, locale="xx_YY").users(1)


def test_unique_fields_over_10000_users() -> None:
    users = TestData(None, seed=11).users(10_000)
    for field in UNIQUE_FIELDS["user"]:
        assert len({u[field] for u in users}) == 10_000, field
    assert all("@" in u["email"] for u in users)


class TestRelationships:
    """Orders reference users and products that exist in the same dataset."""

    def test_orders_reference_existing_records(self, data: TestData) -> None:
        orders = data.orders(30, users=6, products=4)
        user_ids = {u["id"] for u in data.users(6)}
        products = {p["id"]: p for p in data.products(4)}
        assert {o["user_id"] for o in orders} <= user_ids
        for order in orders:
            assert order["items"]
            for item in order["items"]:
                assert item["unit_price"] == products[item["product_id"]]["price"]
            assert order["total"] == round(sum(i["line_total"] for i in order["items"]), 2)

    def test_orders_reference_labelled_data(self, data: TestData) -> None:
        data.users(3, key="buyers", role="buyer")
        orders = data.orders(10, users="buyers")
        assert {o["user_id"] for o in orders} <= {u["id"] for u in data.get("buyers")}

    def test_unknown_label_is_clear(self, data: TestData) -> None:
        with pytest.raises(DataError, match="'nobody' was never stored"):
            data.orders(1, users="nobody")


class TestOverridesAndLabels:
    """Overrides, per-row values and labels; every call returns fresh copies."""

    def test_overrides_and_nested_overrides(self, data: TestData) -> None:
        users = data.users(3, role="admin", profile__team="qa")
        assert all(u["role"] == "admin" and u["profile"] == {"team": "qa"} for u in users)

    def test_rows_set_count_and_values(self, data: TestData) -> None:
        products = data.products(key="cat", rows=[{"name": "Lamp"}, {"name": "Desk"}])
        assert [p["name"] for p in products] == ["Lamp", "Desk"]
        assert len({p["sku"] for p in products}) == 2

    def test_rows_count_mismatch(self, data: TestData) -> None:
        with pytest.raises(DataError, match="1 rows given for 2 records"):
            data.products(2, rows=[{"name": "x"}])

    def test_get_returns_independent_copies(self, data: TestData) -> None:
        data.users(2, key="pair")
        first = data.get("pair")
        first[0]["email"] = "changed"
        first.append({"bogus": True})
        assert data["pair"][0]["email"] != "changed"
        assert len(data["pair"]) == 2
        assert "pair" in data and {"pair"} <= set(data.keys())

    def test_get_unknown_label(self, data: TestData) -> None:
        with pytest.raises(DataError, match="no test data stored under 'missing'"):
            data.get("missing")


class TestBuild:
    """build() hands out successive distinct records, reproducibly."""

    def test_successive_records_and_overrides(self) -> None:
        data = TestData(None, seed=5)
        built = [data.build("user") for _ in range(150)]
        assert [u["id"] for u in built] == list(range(1, 151))
        assert data.build("product", price=1.5)["price"] == 1.5

    def test_same_sequence_in_a_new_instance(self) -> None:
        one, two = TestData(None, seed=5), TestData(None, seed=5)
        assert [one.build("company") for _ in range(3)] == [two.build("company") for _ in range(3)]


def test_identical_across_processes() -> None:
    """Two fresh interpreters (different hash seeds) produce byte-identical datasets."""
    import os
    import subprocess
    import sys

    code = ("import json; from qhub.data import TestData; d = TestData(None, seed=21);"
            "print(json.dumps([d.users(200), d.orders(20), d.build('company')], "
            "sort_keys=True))")
    outputs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    here = TestData(None, seed=21)
    assert json.loads(outputs[0]) == [here.users(200), here.orders(20), here.build("company")]
