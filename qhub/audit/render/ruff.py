"""``--emit ruff``: a ruff config that bans the heavy modules found at module level (TID253)."""

from __future__ import annotations

import json

from qhub.audit.model import AuditResult


def heavy_modules(result: AuditResult, threshold_ms: float) -> list[str]:
    """Modules of measured imports (``import m`` / ``from m import x``) reaching the
    threshold."""
    return sorted({
        m.module.split()[1] for m in result.modules.values()
        if m.status == "measured" and m.standalone_ms >= threshold_ms
    })


def render(result: AuditResult, threshold_ms: float) -> str:
    modules = heavy_modules(result, threshold_ms)
    listed = ", ".join(json.dumps(m) for m in modules)
    return (
        "# Paste into pyproject.toml: ruff then reports module-level imports of these heavy\n"
        "# modules (rule TID253), measured by `qhub audit`.\n"
        "[tool.ruff.lint]\n"
        'extend-select = ["TID253"]\n'
        "\n"
        "[tool.ruff.lint.flake8-tidy-imports]\n"
        f"banned-module-level-imports = [{listed}]\n"
    )
