"""Machine-readable report; the layout is versioned by ``schema`` (see docs/audit.md)."""

from __future__ import annotations

import json
from typing import Any

from qhub._version import __version__
from qhub.audit.model import AuditResult

SCHEMA = "qhub-audit/2"


def as_dict(result: AuditResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "qhub", "version": __version__},
        "root": result.root,
        "interpreter": {"path": result.interpreter, "version": result.python_version,
                        "target": ".".join(map(str, result.target_version)),
                        "behave": result.behave_version},
        "summary": {
            "files": len(result.files),
            "findings": len(result.findings),
            "by_severity": result.counts(),
            "suppressed": result.suppressed,
            "total_load_ms": round(result.total_load_ms, 3),
            "saving_ms": round(result.saving_ms, 3),
            "saving_modules": result.saving_modules,
            "elapsed_s": round(result.elapsed_s, 3),
        },
        "files": result.files,
        "findings": [f.as_dict() for f in result.findings],
        "modules": [m.as_dict() for m in sorted(result.modules.values(),
                                                key=lambda m: m.module)],
        "notes": result.notes,
    }


def render(result: AuditResult) -> str:
    return json.dumps(as_dict(result), indent=2) + "\n"
