"""``@frozen_record``: qhub's frozen records, cheaper to create than plain frozen dataclasses.

A record is ``@dataclass(frozen=True, slots=True)`` (``slots=False`` where a class needs a
``__dict__``). The one difference is how ``__eq__``, ``__hash__`` and ``__repr__`` come
about. CPython up to 3.12 compiles each method a dataclass generates, one ``exec``
apiece: creating one frozen record type took ~0.8 ms, and the ~70 record types a
profiled behave run loads took ~60 ms, about half of what qhub adds to a small suite's
start-up. Here those three methods are shared functions, set on each class, with the
generated ones' results: the same fields in the same order (``compare``, ``hash`` and
``repr`` flags of :func:`dataclasses.field` respected), ``NotImplemented`` against
another class, ``Name(field=value, ...)`` with ``__qualname__``. That saves ~40 % of
creating a record type. ``__init__``, ``__setattr__``/``__delattr__`` (frozen),
``dataclasses.fields``, ``replace`` and ``asdict`` are the dataclass's own.
"""

from __future__ import annotations

import dataclasses
import reprlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
elif sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10: the marker only informs type checkers

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator


T = TypeVar("T")
_OWN = ("__eq__", "__hash__", "__repr__")


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__record_compare__
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, n) for n in self.__record_hash__))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_repr__)
    return f"{self.__class__.__qualname__}({shown})"


def _finish(cls: type[T], slots: bool) -> type[T]:
    own = [name for name in _OWN if name in cls.__dict__]
    if own:
        raise TypeError(f"record {cls.__qualname__} defines {', '.join(own)}: use @dataclass")
    made = dataclasses.dataclass(frozen=True, slots=slots, eq=False, repr=False)(cls)
    fields = dataclasses.fields(made)  # type: ignore[arg-type]
    compared = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    shared: dict[str, Any] = {
        "__record_compare__": compared,
        "__record_hash__": hashed,
        "__record_repr__": tuple(f.name for f in fields if f.repr),
        "__eq__": _eq,
        "__hash__": _hash,
        "__repr__": _repr,
    }
    for name, value in shared.items():
        setattr(made, name, value)
    return made


@overload
def frozen_record(cls: type[T], /) -> type[T]: ...


@overload
def frozen_record(*, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True)
def frozen_record(cls: type[T] | None = None, /, *, slots: bool = True) -> Any:
    """Make ``cls`` a frozen record (see the module docstring): ``@frozen_record`` or
    ``@frozen_record(slots=False)``."""
    if cls is None:
        return lambda later: _finish(later, slots)
    return _finish(cls, slots)
