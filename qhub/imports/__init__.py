"""Run-time import tools: lazy loading and import profiling (the static audit is
:mod:`qhub.audit`).

Everything is re-exported lazily (PEP 562) so ``import qhub.imports`` loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ImportOptimizer": "qhub.imports.optimizer",
    "profile_imports": "qhub.imports.profiler",
    "ImportProfile": "qhub.imports.profiler",
    "lazy_import": "qhub.imports.lazy",
    "create_lazy_loader": "qhub.imports.lazy",
}

__all__ = [
    "ImportOptimizer",
    "ImportProfile",
    "create_lazy_loader",
    "lazy_import",
    "profile_imports",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from qhub.imports.lazy import create_lazy_loader, lazy_import
    from qhub.imports.optimizer import ImportOptimizer
    from qhub.imports.profiler import ImportProfile, profile_imports
