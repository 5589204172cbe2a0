"""Lazy modules built on :class:`importlib.util.LazyLoader`.

``create_lazy_loader("x")`` returns a module object at once; ``x`` really executes on the
first attribute access. If ``x`` cannot be imported, that first access raises the real
``ImportError`` (the one ``import x`` would raise), and a failed module is removed from
``sys.modules`` so a later import retries, as with a normal import.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _EvictOnError(importlib.abc.Loader):
    """Wraps a loader: a module whose execution fails leaves ``sys.modules``."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        result: types.ModuleType | None = self._loader.create_module(spec)
        return result

    def exec_module(self, module: types.ModuleType) -> None:
        try:
            self._loader.exec_module(module)
        except BaseException:
            if sys.modules.get(self._name) is module:
                del sys.modules[self._name]
            raise


class _MissingModule(types.ModuleType):
    """Placeholder for a module that cannot be found: any attribute use re-raises the
    real import error."""

    def __getattr__(self, attr: str) -> Any:
        name = object.__getattribute__(self, "__name__")
        module = importlib.import_module(name)  # raises the real ModuleNotFoundError
        return getattr(module, attr)


def create_lazy_loader(module: str) -> types.ModuleType:
    """A module that is imported on first attribute access (already-imported: returned as is).

    Parent packages of a dotted name are imported at once (finding ``a.b`` needs ``a``).
    """
    if module in sys.modules:
        return sys.modules[module]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.loader is None:
        return _MissingModule(module)
    spec.loader = importlib.util.LazyLoader(_EvictOnError(spec.loader, module))
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[module] = lazy
    spec.loader.exec_module(lazy)
    return lazy


def lazy_import(module: str, name: str | None = None) -> Callable[[F], F]:
    """Decorator: import ``module`` when the function is first *called*, not at import.

    The module is bound in the function's module globals under ``name`` (default: the top
    package, as ``import a.b`` binds ``a``), so the body uses it like a module-level
    import. Nothing is imported at decoration time; an ImportError surfaces at the call.
    A global of that name that is not a module is never overwritten (TypeError instead).
    """
    bound = name or module.split(".", maxsplit=1)[0]

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            namespace = fn.__globals__
            current = namespace.get(bound)
            if not isinstance(current, types.ModuleType):
                if current is not None:
                    raise TypeError(
                        f"lazy_import({module!r}): global {bound!r} of {fn.__module__} is "
                        f"already bound to a {type(current).__name__}"
                    )
                imported = importlib.import_module(module)
                namespace[bound] = imported if name else sys.modules[bound]
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
