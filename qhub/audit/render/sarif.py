"""SARIF 2.1.0 log for code-scanning UIs (one run, one result per finding)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qhub._version import __version__
from qhub.audit.model import AuditResult, Location, Severity
from qhub.audit.rules import RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.INFO: "note", Severity.WARNING: "warning", Severity.ERROR: "error"}


def _location(loc: Location) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"}
            if not loc.path.startswith("/") else {"uri": Path(loc.path).as_uri()},
            "region": {"startLine": max(1, loc.line), "startColumn": max(1, loc.column)},
        }
    }


def as_dict(result: AuditResult) -> dict[str, Any]:
    index = {r.id: i for i, r in enumerate(RULES)}
    results = []
    for f in result.findings:
        entry: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.suggestion}"},
            "locations": [_location(f.location)],
            "properties": {"name": f.name, **({"module": f.module} if f.module else {}),
                           **f.data},
        }
        if f.related:
            entry["relatedLocations"] = [
                {**_location(r), "id": i + 1} for i, r in enumerate(f.related)
            ]
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "qhub audit",
                "version": __version__,
                "rules": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "shortDescription": {"text": r.summary},
                        "help": {"text": f"{r.summary} See docs/audit.md, rule {r.id}."},
                        "defaultConfiguration": {"level": _LEVEL[r.severity]},
                    }
                    for r in RULES
                ],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(result.root).as_uri() + "/"}},
            "results": results,
            "properties": {"total_load_ms": round(result.total_load_ms, 3),
                           "saving_ms": round(result.saving_ms, 3),
                           "behave": result.behave_version},
        }],
    }


def render(result: AuditResult) -> str:
    return json.dumps(as_dict(result), indent=2) + "\n"
