"""A stored stress run, read for the HTML report from its dict alone, as untrusted data.

``qhub stress`` records its JSON report in the run history (kind ``stress``). Profiling
sits below stress and must not import it, and a stored document may come from a shared
database or an imported file, so this module reads the dict afresh: every field the report
shows is checked (numbers finite and not booleans, counts whole and not negative, texts
strings, lists and objects what they claim), and anything else raises
:class:`StressDocumentError` naming the field. The report then shows a note instead of the
section, never a traceback. Escaping is the renderer's job; sizes are capped here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qhub._record import frozen_record

MAX_ENDPOINTS = 2000
MAX_TIMELINE_POINTS = 600
"""Longer timelines are thinned to every n-th point (said under the chart)."""
MAX_ERROR_KINDS = 6
_TEXT_CHARS = 500


class StressDocumentError(ValueError):
    """The stored document is not a stress run this report can show."""


@frozen_record
class EndpointRow:
    """One endpoint (or all requests together) of the run."""

    label: str
    count: int
    rate_per_s: float
    errors: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@frozen_record
class TimePoint:
    """One interval of the load (normally a second)."""

    t_s: float
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: tuple[tuple[str, int], ...]
    """Failed requests per kind in the interval."""


@frozen_record
class StressView:
    """What the report's stress section shows."""

    run_id: str
    started_at: str
    elapsed_s: float
    stopped: str
    """``iterations``, ``duration``, ``stopped by SIGINT``..."""
    plan: str
    corrected: bool
    requests: EndpointRow
    endpoints: tuple[EndpointRow, ...]
    endpoints_total: int
    timeline: tuple[TimePoint, ...]
    timeline_stride: int
    """1, or n when only every n-th interval is kept."""


def read_stress(document: Any) -> StressView:
    """The view of a stored stress run; :class:`StressDocumentError` when it is not one."""
    doc = _mapping(document, "the document")
    if doc.get("kind") != "stress":
        raise StressDocumentError("it is not a stress run (kind is not 'stress')")
    endpoints = _sequence(doc.get("endpoints"), "endpoints")
    timeline = _sequence(doc.get("timeline"), "timeline")
    stride = max(1, math.ceil(len(timeline) / MAX_TIMELINE_POINTS))
    signal = doc.get("signal")
    stop = _text(doc, "stop_reason", "document")
    return StressView(
        run_id=_text(doc, "run_id", "document"),
        started_at=_text(doc, "started_at", "document"),
        elapsed_s=_number(doc, "elapsed_s", "document"),
        stopped=f"stopped by {_text(doc, 'signal', 'document')}" if signal is not None else stop,
        plan=_plan(_mapping(doc.get("plan"), "plan")),
        corrected=_flag(doc, "corrected", "document"),
        requests=_row(doc.get("requests"), "requests"),
        endpoints=tuple(
            _row(row, f"endpoints[{i}]") for i, row in enumerate(endpoints[:MAX_ENDPOINTS])
        ),
        endpoints_total=len(endpoints),
        timeline=tuple(
            _point(point, f"timeline[{i}]") for i, point in enumerate(timeline) if i % stride == 0
        ),
        timeline_stride=stride,
    )


def _row(value: Any, where: str) -> EndpointRow:
    row = _mapping(value, where)
    return EndpointRow(
        label=_text(row, "label", where),
        count=_count(row, "count", where),
        rate_per_s=_number(row, "rate_per_s", where),
        errors=_count(row, "errors", where),
        p50_ms=_number(row, "p50_ms", where),
        p90_ms=_number(row, "p90_ms", where),
        p95_ms=_number(row, "p95_ms", where),
        p99_ms=_number(row, "p99_ms", where),
        max_ms=_number(row, "max_ms", where),
    )


def _point(value: Any, where: str) -> TimePoint:
    point = _mapping(value, where)
    errors = _mapping(point.get("errors"), f"{where}.errors")
    kinds = sorted(
        ((_short(str(kind)), _count(errors, kind, f"{where}.errors")) for kind in errors),
        key=lambda item: -item[1],
    )
    return TimePoint(
        t_s=_number(point, "t_s", where),
        requests=_count(point, "requests", where),
        p50_ms=_number(point, "p50_ms", where),
        p95_ms=_number(point, "p95_ms", where),
        p99_ms=_number(point, "p99_ms", where),
        errors=tuple(kinds),
    )


def plan_line(
    users: int, duration_s: float | None, iterations: int | None, rate: float | None
) -> str:
    """``4 user(s) for 30 s, back to back`` / ``... at 20 iterations/s``: how qhub words a
    stress plan (``qhub stress`` adds its ramp-up and multiplier)."""
    length = []
    if duration_s is not None:
        length.append(f"for {duration_s:g} s")
    if iterations is not None:
        length.append(f"{iterations} iteration(s) per user")
    pace = f"at {rate:g} iterations/s" if rate else "back to back"
    return f"{users} user(s) {' and '.join(length)}, {pace}"


def _plan(plan: Mapping[str, Any]) -> str:
    """:func:`plan_line` of a stored plan, each value checked first."""
    iterations = (
        _count(plan, "iterations", "plan") if plan.get("iterations") is not None else None
    )
    return plan_line(
        _count(plan, "users", "plan"),
        _optional_number(plan, "duration_s", "plan"),
        iterations,
        _optional_number(plan, "rate", "plan"),
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StressDocumentError(f"{where} is not an object")
    return value


def _sequence(value: Any, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise StressDocumentError(f"{where} is not a list")
    return value


def _number(mapping: Mapping[str, Any], key: str, where: str) -> float:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StressDocumentError(f"{where}.{key} is not a number")
    if not math.isfinite(value):
        raise StressDocumentError(f"{where}.{key} is not finite")
    return float(value)


def _optional_number(mapping: Mapping[str, Any], key: str, where: str) -> float | None:
    return None if mapping.get(key) is None else _number(mapping, key, where)


def _count(mapping: Mapping[str, Any], key: str, where: str) -> int:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StressDocumentError(f"{where}.{_short(str(key))} is not a count")
    return value


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise StressDocumentError(f"{where}.{key} is not a text")
    return _short(value)


def _flag(mapping: Mapping[str, Any], key: str, where: str) -> bool:
    value = mapping.get(key)
    if not isinstance(value, bool):
        raise StressDocumentError(f"{where}.{key} is not true or false")
    return value


def _short(text: str) -> str:
    return text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…"


__all__ = [
    "EndpointRow",
    "StressDocumentError",
    "StressView",
    "TimePoint",
    "read_stress",
]
