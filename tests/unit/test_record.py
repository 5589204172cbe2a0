"""``@frozen_record`` behaves as ``@dataclass(frozen=True, slots=True)`` does, with three
shared methods instead of three compiled per class; and it is the one way qhub declares a
frozen record."""

from __future__ import annotations

import copy
import pickle
import re
from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pytest

from qhub._record import frozen_record

QHUB = Path(__file__).resolve().parents[2] / "qhub"


@frozen_record
class Point:
    """A record with every field flag that changes equality, hashing or repr."""

    x: int
    y: str = "s"
    note: list[int] = field(default_factory=list, compare=False, repr=False)
    hidden: int = field(default=0, repr=False)
    unhashed: int = field(default=0, hash=False)


@dataclass(frozen=True, slots=True)
class Twin:
    """The same fields as a plain frozen dataclass: the reference behaviour."""

    x: int
    y: str = "s"
    note: list[int] = field(default_factory=list, compare=False, repr=False)
    hidden: int = field(default=0, repr=False)
    unhashed: int = field(default=0, hash=False)


@frozen_record(slots=False)
class Loose:
    value: int


@frozen_record
class Empty:
    pass


CASES: list[dict[str, Any]] = [
    {"x": 1},
    {"x": 1, "y": "t", "note": [5], "hidden": 3, "unhashed": 9},
    {"x": -2, "y": "", "hidden": 1},
]


@pytest.mark.parametrize("a", CASES)
@pytest.mark.parametrize("b", CASES)
def test_equality_hash_and_repr_match_a_frozen_dataclass(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    mine_a, mine_b, ref_a, ref_b = Point(**a), Point(**b), Twin(**a), Twin(**b)
    assert (mine_a == mine_b) is (ref_a == ref_b)
    assert (mine_a != mine_b) is (ref_a != ref_b)
    assert (hash(mine_a) == hash(mine_b)) is (hash(ref_a) == hash(ref_b))
    assert hash(mine_a) == hash(ref_a)  # the same tuple of the same fields
    assert repr(mine_a) == repr(ref_a).replace("Twin(", "Point(")


def test_other_classes_are_not_equal_and_get_not_implemented() -> None:
    assert Point(1) != Twin(1)
    assert Point.__eq__(Point(1), Twin(1)) is NotImplemented
    assert Point(1) != (1, "s", [], 0, 0)


def test_still_a_frozen_slotted_dataclass() -> None:
    p = Point(1, note=[2])
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del p.y  # type: ignore[misc]
    assert not hasattr(p, "__dict__")
    assert [f.name for f in fields(p)] == ["x", "y", "note", "hidden", "unhashed"]
    assert replace(p, x=5) == Point(5, note=[2])
    assert asdict(p) == {"x": 1, "y": "s", "note": [2], "hidden": 0, "unhashed": 0}
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.deepcopy(p) == p and copy.copy(p) == p
    assert {p: "a"}[Point(1)] == "a"


def test_slots_false_keeps_a_dict_and_empty_records_work() -> None:
    loose = Loose(3)
    assert hasattr(loose, "__dict__") and repr(loose) == "Loose(value=3)"
    with pytest.raises(FrozenInstanceError):
        loose.value = 4  # type: ignore[misc]
    assert Empty() == Empty() and hash(Empty()) == hash(()) and repr(Empty()) == "Empty()"


def test_methods_are_shared_not_compiled_per_class() -> None:
    """What makes a record cheaper to create: no generated ``__eq__``/``__hash__``/
    ``__repr__`` (each one an ``exec`` in CPython up to 3.12)."""
    for name in ("__eq__", "__hash__", "__repr__"):
        assert getattr(Point, name) is getattr(Loose, name) is getattr(Empty, name)


def test_a_class_with_its_own_equality_is_refused() -> None:
    with pytest.raises(TypeError, match="defines __eq__"):

        @frozen_record
        class Own:  # noqa: PLW1641 - refused before a hash could matter
            x: int

            def __eq__(self, other: object) -> bool:
                return True


def test_qhub_declares_frozen_records_one_way() -> None:
    """Every frozen dataclass in qhub is a ``@frozen_record`` (a plain one compiles three
    more methods per class: ~40 % of its creation)."""
    plain = re.compile(r"@(dataclasses\.)?dataclass\([^)]*frozen\s*=\s*True")
    offenders = [
        f"{path.relative_to(QHUB.parent)}:{n}"
        for path in sorted(QHUB.rglob("*.py"))
        if path.name != "_record.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if plain.search(line)
    ]
    assert offenders == []
