"""Reading stored run documents back into :class:`~qhub.profiling.record.RunRecord` s.

The run history and JSON reports hold records as JSON (schema ``qhub.profile/2``).
:func:`record_from_dict` checks every field (a damaged or hostile row raises
:class:`~qhub.profiling.record.RecordError`, never something later) and converts
documents of the earlier schema ``qhub.profile/1``: identities are re-derived
(``file::step type::pattern`` for step definitions, ``file::name`` for scenarios) and tags
stored as a list's repr become a list of tag strings.
"""

from __future__ import annotations

from typing import Any

from qhub.profiling._clean import normalize_tags
from qhub.profiling.identity import scenario_key, split_location, step_definition_key
from qhub.profiling.record import SCHEMA, SCHEMA_V1, RecordError, RunRecord, decode


def record_from_dict(data: Any) -> RunRecord:
    """Rebuild a :class:`RunRecord` from parsed JSON; :class:`RecordError` when malformed."""
    if not isinstance(data, dict):
        raise RecordError("run document is not an object")
    schema = data.get("schema")
    if schema == SCHEMA_V1:
        data = upgrade_v1_document(data)
    elif schema != SCHEMA:
        raise RecordError(f"unknown run document schema {str(schema)[:40]!r}")
    return decode(RunRecord, data)


def upgrade_v1_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A ``qhub.profile/1`` document reshaped to ``qhub.profile/2`` (keys re-derived)."""
    try:
        run = dict(doc["run"])
        run.setdefault("part", run.get("id"))
        run["id"] = run.get("group") or run.get("id")
        run["tags"] = _tags_v1(run.get("tags"))
        for name in ("group", "runs", "implementation_version"):
            run.pop(name, None)
        totals = dict(doc.get("totals") or {})
        failed = int(totals.pop("scenarios_failed", 0) or 0)
        statuses = totals.pop("step_statuses", {}) or {}
        new_totals = {
            "features": totals.get("features", 0),
            "rules": totals.get("rules", 0),
            "scenarios": totals.get("scenarios", 0),
            "scenarios_by_status": {"failed": failed} if failed else {},
            "steps": totals.get("steps", 0),
            "steps_by_status": statuses,
            "step_definitions": totals.get("step_definitions", 0),
            "source": "observed",
        }
        definitions = []
        for row in doc.get("step_definitions") or []:
            file, line = split_location(str(row["key"]))
            definitions.append(
                {
                    **row,
                    "key": step_definition_key(file, str(row["step_type"]), str(row["pattern"])),
                    "location": row["key"],
                    "file": file,
                    "line": line,
                    "function": "",
                    "nested_calls": 0,
                }
            )
        scenarios = []
        for row in doc.get("scenarios") or []:
            file, line = split_location(str(row["key"]))
            scenarios.append(
                {**row, "key": scenario_key(file, str(row["name"])), "location": row["key"],
                 "file": file, "line": line}
            )  # fmt: skip
        features = [{**f, "location": f["key"]} for f in doc.get("features") or []]
        memory = dict(doc.get("memory") or {})
        memory.setdefault("series", [])
        return {
            **doc,
            "schema": SCHEMA,
            "run": run,
            "totals": new_totals,
            "step_definitions": definitions,
            "scenarios": scenarios,
            "features": features,
            "memory": memory,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"old run document is malformed: {type(exc).__name__}: {exc}") from None


def _tags_v1(tags: Any) -> list[str]:
    """v1 stored ``["['@smoke']"]`` (a list's repr); this gives ``["@smoke"]``."""
    return list(normalize_tags(tags))
