"""``qhub audit``: what step loading costs and which step definitions behave would reject.

The suite's files are parsed, never executed; installed modules are timed in isolated
subprocesses of the target interpreter; step rules are decided by its own behave.
Everything is re-exported lazily (PEP 562) so ``import qhub.audit`` loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "run_audit": "qhub.audit.engine",
    "audit_step_definitions": "qhub.audit.api",
    "AuditOptions": "qhub.audit.options",
    "AuditResult": "qhub.audit.model",
    "Finding": "qhub.audit.model",
    "Location": "qhub.audit.model",
    "Severity": "qhub.audit.model",
    "RULES": "qhub.audit.rules",
}

__all__ = [
    "RULES",
    "AuditOptions",
    "AuditResult",
    "Finding",
    "Location",
    "Severity",
    "audit_step_definitions",
    "run_audit",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from qhub.audit.api import audit_step_definitions
    from qhub.audit.engine import run_audit
    from qhub.audit.model import AuditResult, Finding, Location, Severity
    from qhub.audit.options import AuditOptions
    from qhub.audit.rules import RULES
