"""Built-in record kinds: user, address, company, product, order.

Each kind is a function ``(fake, index, ctx) -> dict`` producing one plain JSON-compatible
record. Dates come from fixed ranges (never "now"), so the same seed gives the same records
on any day. Changing what a kind produces requires bumping
:data:`qhub.data.recipe.GENERATOR_VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from qhub.data._faker import CountingFaker

Record = dict[str, Any]

_EPOCH_START = datetime(2020, 1, 1)
_EPOCH_END = datetime(2025, 12, 31)
_BIRTH_START = date(1950, 1, 1)
_BIRTH_END = date(2005, 12, 31)
_ROLES = ("customer", "customer", "customer", "editor", "admin")
_CATEGORIES = ("books", "electronics", "garden", "home", "sports", "toys")
_PRODUCT_NOUNS = ("Widget", "Gadget", "Kit", "Set", "Pack", "Tool", "Lamp", "Chair")
_ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")


class DatasetState:
    """Per-dataset state shared by the records of one generation: uniqueness and relations.

    (Named for what it holds; "context" in a behave tool means behave's ``context``.)"""

    def __init__(self, start: int = 0, related: dict[str, list[Record]] | None = None) -> None:
        self.start = start
        self.related = related or {}
        self._seen: dict[str, set[Any]] = {}

    def record_id(self, index: int) -> int:
        """The unique integer id of record ``index`` (ids continue across pool chunks)."""
        return self.start + index + 1

    def unique(self, field: str, value: Any, index: int) -> Any:
        """``value`` if not used yet for ``field`` in this dataset, else a unique variant.

        Variants are derived from the record index, so they are as deterministic as the
        value itself.
        """
        seen = self._seen.setdefault(field, set())
        candidate = value
        attempt = 0
        while candidate in seen:
            attempt += 1
            candidate = _variant(value, self.record_id(index) * (attempt + 1))
        seen.add(candidate)
        return candidate


def _variant(value: Any, n: int) -> Any:
    if isinstance(value, str):
        local, at, domain = value.partition("@")
        return f"{local}{n}{at}{domain}" if at else f"{value}-{n}"
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value + n * 1_000_003
    return f"{value}-{n}"


def user(fake: CountingFaker, i: int, ctx: DatasetState) -> Record:
    """A person with login data; ``id``, ``uuid``, ``username`` and ``email`` are unique."""
    first = fake.first_name()
    last = fake.last_name()
    return {
        "id": ctx.record_id(i),
        "uuid": ctx.unique("uuid", fake.uuid4(), i),
        "username": ctx.unique("username", fake.user_name(), i),
        "email": ctx.unique("email", fake.email(), i),
        "first_name": first,
        "last_name": last,
        "phone": fake.phone_number(),
        "date_of_birth": fake.date_between_dates(_BIRTH_START, _BIRTH_END).isoformat(),
        "role": fake.random_element(_ROLES),
        "is_active": fake.pybool(),
        "created_at": fake.date_time_between_dates(_EPOCH_START, _EPOCH_END).isoformat(),
    }


def address(fake: CountingFaker, i: int, ctx: DatasetState) -> Record:
    """A postal address with coordinates."""
    return {
        "id": ctx.record_id(i),
        "street": fake.street_address(),
        "city": fake.city(),
        "postcode": fake.postcode(),
        "country": fake.current_country_code(),
        "latitude": float(fake.latitude()),
        "longitude": float(fake.longitude()),
    }


def company(fake: CountingFaker, i: int, ctx: DatasetState) -> Record:
    """A company; ``id`` and ``name`` are unique."""
    return {
        "id": ctx.record_id(i),
        "name": ctx.unique("name", fake.company(), i),
        "catch_phrase": fake.catch_phrase(),
        "email": fake.company_email(),
        "phone": fake.phone_number(),
        "website": fake.url(),
        "founded": fake.date_between_dates(_BIRTH_START, _EPOCH_START.date()).isoformat(),
    }


def product(fake: CountingFaker, i: int, ctx: DatasetState) -> Record:
    """A product for sale; ``id`` and ``sku`` are unique."""
    return {
        "id": ctx.record_id(i),
        "sku": ctx.unique("sku", fake.bothify("SKU-####-???").upper(), i),
        "name": f"{fake.word().title()} {fake.random_element(_PRODUCT_NOUNS)}",
        "category": fake.random_element(_CATEGORIES),
        "price": round(fake.pyfloat(min_value=1, max_value=500, right_digits=2), 2),
        "stock": fake.random_int(0, 500),
        "description": fake.sentence(),
    }


def order(fake: CountingFaker, i: int, ctx: DatasetState) -> Record:
    """An order placed by an existing user for existing products (from ``ctx.related``)."""
    users = ctx.related["user"]
    products = ctx.related["product"]
    buyer = fake.random_element(users)
    count = min(len(products), fake.random_int(1, 4))
    picked = [products[k] for k in fake.random_sample(tuple(range(len(products))), length=count)]
    items = [
        {
            "product_id": p["id"],
            "quantity": (quantity := fake.random_int(1, 5)),
            "unit_price": p.get("price", 0.0),
            "line_total": round(quantity * float(p.get("price", 0.0)), 2),
        }
        for p in picked
    ]
    return {
        "id": ctx.record_id(i),
        "user_id": buyer["id"],
        "status": fake.random_element(_ORDER_STATUSES),
        "items": items,
        "total": round(sum(item["line_total"] for item in items), 2),
        "created_at": fake.date_time_between_dates(_EPOCH_START, _EPOCH_END).isoformat(),
    }


KindFn = Callable[[CountingFaker, int, DatasetState], Record]

KINDS: dict[str, KindFn] = {
    "user": user,
    "address": address,
    "company": company,
    "product": product,
    "order": order,
}
"""Built-in kind name -> record function."""

RELATED: dict[str, tuple[str, ...]] = {"order": ("user", "product")}
"""Kinds whose records reference other datasets, and which ones."""

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "user": (
        "id", "uuid", "username", "email", "first_name", "last_name", "phone",
        "date_of_birth", "role", "is_active", "created_at",
    ),
    "address": ("id", "street", "city", "postcode", "country", "latitude", "longitude"),
    "company": ("id", "name", "catch_phrase", "email", "phone", "website", "founded"),
    "product": ("id", "sku", "name", "category", "price", "stock", "description"),
    "order": ("id", "user_id", "status", "items", "total", "created_at"),
}
"""Top-level fields of each kind's records, in order (templates' ``format`` may use them)."""

UNIQUE_FIELDS: dict[str, tuple[str, ...]] = {
    "user": ("id", "uuid", "username", "email"),
    "address": ("id",),
    "company": ("id", "name"),
    "product": ("id", "sku"),
    "order": ("id",),
}
"""Fields each kind guarantees unique within a dataset (documented, and tested)."""

_INTS = frozenset({"id", "stock", "user_id"})
_FLOATS = frozenset({"latitude", "longitude", "price", "total"})


def _sample(field: str) -> Any:
    if field in _INTS:
        return 1
    if field in _FLOATS:
        return 1.5
    if field == "is_active":
        return True
    if field == "items":
        return []
    return "text"


KIND_SAMPLES: dict[str, dict[str, Any]] = {
    kind: {field: _sample(field) for field in fields} for kind, fields in KIND_FIELDS.items()
}
"""A value of the right type for each field of each kind (templates' ``format`` specs are
tried on them when a template loads)."""
