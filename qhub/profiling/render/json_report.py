"""The JSON report: the run record (schema ``qhub.profile/2``) with its verdict and trend.

Top-level keys are the record's (``schema``, ``run``, ``totals``, ``attribution``,
``step_definitions``, ``scenarios`` ...) plus ``analysis`` (the verdict, with its counts
and ``state``), ``history`` (the trend, oldest first), ``item_trends`` and ``notes``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from qhub.profiling.record import to_json
from qhub.profiling.render.base import RenderOptions
from qhub.profiling.verdict import Verdict

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report


def verdict_document(verdict: Verdict) -> dict[str, Any]:
    """The verdict as JSON-ready data (``qhub check --format json`` prints this)."""
    doc: dict[str, Any] = {f.name: getattr(verdict, f.name) for f in dataclasses.fields(verdict)}
    doc["state"] = verdict.state
    doc["leak"] = verdict.leak
    doc["counts"] = {
        **{f.name: getattr(verdict.counts, f.name) for f in dataclasses.fields(verdict.counts)},
        "not_comparable": verdict.counts.not_comparable,
    }
    return doc


def report_document(report: Report) -> dict[str, Any]:
    record = report.record
    doc: dict[str, Any] = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    doc["analysis"] = verdict_document(report.verdict)
    doc["history"] = report.trend
    doc["item_trends"] = report.item_trends
    doc["notes"] = report.notes
    return doc


def render(report: Report, options: RenderOptions) -> str:
    return to_json(report_document(report), indent=True).decode("utf-8")
