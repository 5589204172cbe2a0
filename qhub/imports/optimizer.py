"""``ImportOptimizer``: the reference API's import optimiser, on top of qhub's tools.

``enable_optimization()`` starts recording every import (cost and cause) and puts the
configured ``imports.lazy_modules`` behind lazy loaders; ``get_optimization_report()``
summarises what was recorded; ``audit_step_definitions(folder)`` runs the static audit
(:mod:`qhub.audit`, imported only then).
"""

from __future__ import annotations

import os
import types
from typing import TYPE_CHECKING, Any

from qhub.imports.lazy import create_lazy_loader as _create_lazy_loader
from qhub.imports.profiler import HISTORY, RECORDER, ImportProfile

if TYPE_CHECKING:
    from qhub.config import QHubConfig


class ImportOptimizer:
    """Import profiling, lazy loading and step-file auditing for one suite."""

    def __init__(
        self,
        config: QHubConfig | None = None,
        *,
        heavy_threshold_ms: float | None = None,
        lazy_modules: list[str] | None = None,
    ) -> None:
        settings = config.imports if config is not None else None
        self.config = config
        self.heavy_threshold_ms = (
            heavy_threshold_ms if heavy_threshold_ms is not None
            else settings.heavy_threshold_ms if settings is not None else 50.0
        )
        self.lazy_module_names = list(
            lazy_modules if lazy_modules is not None
            else settings.lazy_modules if settings is not None else []
        )
        self.enabled = settings.enabled if settings is not None else True
        self.profile = ImportProfile("ImportOptimizer")
        self.lazy: dict[str, types.ModuleType] = {}
        self.active = False

    def enable_optimization(self) -> ImportOptimizer:
        """Record imports from now on and make the configured lazy modules lazy."""
        if not self.enabled or self.active:
            return self
        RECORDER.attach(self.profile)
        self.active = True
        for name in self.lazy_module_names:
            self.create_lazy_loader(name)
        return self

    def disable_optimization(self) -> None:
        """Stop recording imports (lazy modules stay lazy)."""
        RECORDER.detach(self.profile)
        self.active = False

    def create_lazy_loader(self, module: str) -> types.ModuleType:
        """A module imported on first attribute use (see :func:`qhub.create_lazy_loader`)."""
        lazy = _create_lazy_loader(module)
        self.lazy[module] = lazy
        return lazy

    def get_optimization_report(self) -> dict[str, Any]:
        """``import_profiling.total_import_time`` (s), ``heavy_modules``, ``recommendations``."""
        records = [r for p in [self.profile, *HISTORY] for r in p.records]
        seen: dict[str, Any] = {}
        for r in records:
            seen.setdefault(r.module, r)
        top = [r for r in seen.values() if r.depth == 0]
        heavy = sorted(
            (r for r in seen.values() if r.cumulative_s * 1000 >= self.heavy_threshold_ms),
            key=lambda r: -r.cumulative_s,
        )
        recommendations = [
            f"import '{r.module}' lazily (create_lazy_loader('{r.module}') or an import inside "
            f"the function that uses it): importing it took {r.cumulative_s * 1000:.0f} ms"
            for r in heavy if r.depth == 0
        ]
        for name, module in self.lazy.items():
            if _still_lazy(module):
                recommendations.append(
                    f"lazy module '{name}' was never used in this run: drop the import"
                )
        failed = [r for r in seen.values() if r.error]
        recommendations.extend(f"'{r.module}' failed to import: {r.error}" for r in failed)
        return {
            "import_profiling": {
                "enabled": self.active,
                "total_import_time": sum(r.cumulative_s for r in top),
                "imports": len(seen),
                "slowest": [
                    {"module": r.module, "cumulative_ms": r.cumulative_s * 1000,
                     "self_ms": r.self_s * 1000}
                    for r in sorted(top, key=lambda r: -r.cumulative_s)[:10]
                ],
            },
            "heavy_modules": [
                {"module": r.module, "cumulative_ms": r.cumulative_s * 1000,
                 "self_ms": r.self_s * 1000}
                for r in heavy
            ],
            "lazy_modules": {n: not _still_lazy(m) for n, m in self.lazy.items()},
            "recommendations": recommendations,
        }

    def audit_step_definitions(
        self, directory: str | os.PathLike[str], **options: Any
    ) -> dict[str, Any]:
        """Static audit of a steps folder (see :func:`qhub.audit.audit_step_definitions`)."""
        from qhub.audit.api import audit_step_definitions

        options.setdefault("heavy_threshold_ms", self.heavy_threshold_ms)
        return audit_step_definitions(directory, config=self.config, **options)


def _still_lazy(module: types.ModuleType) -> bool:
    """True while a LazyLoader module has not been executed yet."""
    cls: type = object.__getattribute__(module, "__class__")
    return cls.__name__ in {"_LazyModule", "_MissingModule"}

