"""create_lazy_loader and lazy_import defer execution and surface the real ImportError."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from qhub.imports import create_lazy_loader, lazy_import

Factory = Callable[[str], str]


class TestCreateLazyLoader:
    """LazyLoader-based modules."""

    def test_executes_on_first_attribute(self, module_factory: Factory, tmp_path: Path) -> None:
        marker = tmp_path / "ran.txt"
        name = module_factory(f"open({str(marker)!r}, 'a').write('x')\nVALUE = 42\n")
        module = create_lazy_loader(name)
        assert isinstance(module, types.ModuleType)
        assert not marker.exists()
        assert sys.modules[name] is module
        assert module.VALUE == 42
        assert marker.read_text() == "x"
        assert module.VALUE == 42 and marker.read_text() == "x"  # executed once

    def test_missing_module_raises_real_error_on_use(self) -> None:
        module = create_lazy_loader("qhub_no_such_module_zz")
        with pytest.raises(ModuleNotFoundError, match="No module named 'qhub_no_such_module_zz'"):
            _ = module.anything

    def test_failing_module_raises_and_is_evicted(self, module_factory: Factory) -> None:
        name = module_factory("raise ImportError('dependency xyz missing')\n")
        module = create_lazy_loader(name)
        with pytest.raises(ImportError, match="dependency xyz missing"):
            _ = module.VALUE
        assert name not in sys.modules

    def test_already_imported_returned_as_is(self) -> None:
        assert create_lazy_loader("json") is sys.modules["json"]


class TestLazyImportDecorator:
    """@lazy_import binds the module into the function's globals at first call."""

    def test_imports_on_first_call_only(self, module_factory: Factory) -> None:
        name = module_factory("VALUE = 7\n")
        namespace: dict[str, object] = {}
        exec(f"def use():\n    return {name}.VALUE\n", namespace)
        use = lazy_import(name)(namespace["use"])  # type: ignore[arg-type]
        assert name not in sys.modules and name not in namespace
        assert use() == 7
        assert namespace[name] is sys.modules[name]

    def test_alias_and_error_at_call(self, module_factory: Factory) -> None:
        name = module_factory("VALUE = 8\n")
        namespace: dict[str, object] = {}
        exec("def use():\n    return alias.VALUE\n", namespace)
        assert lazy_import(name, name="alias")(namespace["use"])() == 8  # type: ignore[arg-type]
        broken = lazy_import("qhub_missing_qq")(lambda: None)
        with pytest.raises(ModuleNotFoundError):
            broken()

    def test_never_overwrites_other_globals(self) -> None:
        namespace: dict[str, object] = {"json": 3}
        exec("def use():\n    return json\n", namespace)
        with pytest.raises(TypeError, match="already bound to a int"):
            lazy_import("json")(namespace["use"])()  # type: ignore[arg-type]
