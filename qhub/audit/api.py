"""The reference API's ``audit_step_definitions(directory)``, on top of :func:`run_audit`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qhub.config import QHubConfig

OPPORTUNITY_RULES = ("QH101", "QH102", "QH103", "QH105", "QH106", "QH107")


def audit_step_definitions(
    directory: str | os.PathLike[str],
    *,
    config: QHubConfig | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Audit the step files in ``directory``: ``files_analyzed``, ``optimization_opportunities``
    (import findings with suggestions), plus ``findings``, ``total_load_ms``, ``saving_ms``.
    """
    from qhub.audit.engine import run_audit

    result = run_audit([directory], config=config, **options)
    findings = [f.as_dict() for f in result.findings]
    return {
        "files_analyzed": len(result.files),
        "optimization_opportunities": [f for f in findings if f["rule"] in OPPORTUNITY_RULES],
        "findings": findings,
        "total_load_ms": result.total_load_ms,
        "saving_ms": result.saving_ms,
        "behave_version": result.behave_version,
        "modules": {k: v.as_dict() for k, v in result.modules.items()},
    }
