"""Import auditing (``qhub audit``) and run-time lazy loading / import profiling.

Everything is re-exported lazily (PEP 562) so ``import qhub.imports`` loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ImportOptimizer": "qhub.imports.optimizer",
    "audit_step_definitions": "qhub.imports.optimizer",
    "profile_imports": "qhub.imports.profiler",
    "ImportProfile": "qhub.imports.profiler",
    "lazy_import": "qhub.imports.lazy",
    "create_lazy_loader": "qhub.imports.lazy",
    "run_audit": "qhub.imports.auditor",
    "AuditResult": "qhub.imports.model",
    "Finding": "qhub.imports.model",
    "Severity": "qhub.imports.model",
    "RULES": "qhub.imports.rules",
}

__all__ = [
    "RULES",
    "AuditResult",
    "Finding",
    "ImportOptimizer",
    "ImportProfile",
    "Severity",
    "audit_step_definitions",
    "create_lazy_loader",
    "lazy_import",
    "profile_imports",
    "run_audit",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from qhub.imports.auditor import run_audit
    from qhub.imports.lazy import create_lazy_loader, lazy_import
    from qhub.imports.model import AuditResult, Finding, Severity
    from qhub.imports.optimizer import ImportOptimizer, audit_step_definitions
    from qhub.imports.profiler import ImportProfile, profile_imports
    from qhub.imports.rules import RULES
