"""Step-definition rows of the run document, aggregated in one pass over the step records.

A run repeats a few step texts many times, so everything that is per *text* — resolving
the definition, redacting and formatting the text and pattern — is done once per distinct
(text, step type, keyword) and cached; per step occurrence only a tuple key, one dict
lookup, list appends and integer sums remain. Figures are computed once per definition
from its samples (sorted once for both percentiles) and once per text from running
count/total/max, with the same arithmetic as :class:`~qhub.profiling.stats.TimingStats`,
so the rows are identical to a per-step computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from qhub.profiling.memory import MB
from qhub.profiling.stats import NS_PER_MS, percentile_sorted
from qhub.profiling.targets import PatternIndex, status_name, step_text

MAX_STORED_SAMPLES = 2000
"""Samples kept per step definition in the document (the figures use all of them)."""


def thin(samples: Sequence[Any], limit: int = MAX_STORED_SAMPLES) -> list[Any]:
    """At most ``limit`` samples spread evenly over ``samples`` (order kept)."""
    if len(samples) <= limit:
        return list(samples)
    step = len(samples) / limit
    return [samples[int(i * step)] for i in range(limit)]


class _Text:
    """Running figures of one step text within one definition (no per-sample list)."""

    __slots__ = ("count", "max_ns", "text", "total_ns")

    def __init__(self, text: str) -> None:
        self.text = text
        self.count = 0
        self.total_ns = 0
        self.max_ns = 0

    def row(self) -> dict[str, Any]:
        total_ms = self.total_ns / NS_PER_MS
        return {
            "text": self.text,
            "count": self.count,
            "total_ms": round(total_ms, 3),
            "mean_ms": round(total_ms / self.count, 3),
            "max_ms": round(self.max_ns / NS_PER_MS, 3),
        }


class _Definition:
    """Samples and sums of one step definition."""

    __slots__ = ("key", "pattern", "peak", "rss_delta", "samples", "statuses", "step_type", "texts")

    def __init__(self, key: str, pattern: str, step_type: str) -> None:
        self.key, self.pattern, self.step_type = key, pattern, step_type
        self.samples: list[int] = []
        self.statuses: dict[str, int] = {}
        self.rss_delta = 0
        self.peak = 0
        self.texts: dict[str, _Text] = {}

    def row(self) -> dict[str, Any]:
        samples = self.samples
        ordered = sorted(samples)
        total_ms = sum(samples) / NS_PER_MS
        texts = sorted((t.row() for t in self.texts.values()), key=lambda t: -t["total_ms"])
        return {
            "key": self.key,
            "pattern": self.pattern,
            "step_type": self.step_type,
            "statuses": self.statuses,
            "rss_delta_mb": round(self.rss_delta / MB, 3),
            "tracemalloc_peak_kb": round(max(0.0, self.peak / 1024), 1),
            "count": len(samples),
            "total_ms": round(total_ms, 3),
            "mean_ms": round(total_ms / len(samples), 3),
            "min_ms": round(ordered[0] / NS_PER_MS, 3),
            "p50_ms": round(percentile_sorted(ordered, 50) / NS_PER_MS, 3),
            "p95_ms": round(percentile_sorted(ordered, 95) / NS_PER_MS, 3),
            "max_ms": round(ordered[-1] / NS_PER_MS, 3),
            "texts": texts,
            "samples_ms": [round(s / NS_PER_MS, 3) for s in thin(samples)],
        }


class _Slots:
    """Distinct step (text, type, keyword, own match) -> its definition and text slot."""

    def __init__(self, index: PatternIndex) -> None:
        self._index = index
        self.definitions: dict[str, _Definition] = {}
        self.by_ident: dict[Any, tuple[_Definition, _Text]] = {}

    def add(self, ident: Any, step: Any) -> tuple[_Definition, _Text]:
        """Resolve ``step`` (the first of its kind) and remember it under ``ident``."""
        found = self.by_ident[ident] = self._resolve(step)
        return found

    def _resolve(self, step: Any) -> tuple[_Definition, _Text]:
        key, pattern, step_type = self._index.definition(step)
        definition = self.definitions.get(key)
        if definition is None:
            definition = self.definitions[key] = _Definition(key, pattern, step_type)
        text = step_text(step)
        slot = definition.texts.get(text)
        if slot is None:
            slot = definition.texts[text] = _Text(text)
        return definition, slot


def _status_names() -> Callable[[Any], str]:
    """``status_name`` memoised per status object (behave's ``Status`` enum members)."""
    names: dict[Any, str] = {}
    last_status: Any = object()  # consecutive steps mostly share one status object
    last_name = ""

    def name_of(step: Any) -> str:
        nonlocal last_status, last_name
        status = getattr(step, "status", None)
        if status is last_status:
            return last_name
        try:
            found = names.get(status)
        except TypeError:  # unhashable status: name it each time
            return status_name(step)
        if found is None:
            found = names[status] = status_name(step)
        last_status, last_name = status, found
        return found

    return name_of


def aggregate_steps(
    steps: Sequence[tuple[Any, int, int, int, int, int]], index: PatternIndex
) -> tuple[list[dict[str, Any]], int]:
    """(one row per step definition, slowest total first; total step body time in ns).

    Rows with equal totals keep the order in which their definitions were first seen.
    """
    body_ns = 0
    slots = _Slots(index)
    by_ident, add = slots.by_ident, slots.add
    name_of = _status_names()
    for step, start, end, rss0, rss1, peak in steps:
        try:
            # a step's own match (kept by some behave versions) wins over the text's
            ident: Any = (step.name, step.step_type, step.keyword, id(getattr(step, "match", None)))
            found = by_ident.get(ident)
        except (AttributeError, TypeError):  # not a behave step: resolved on its own
            ident = id(step)
            found = by_ident.get(ident)
        definition, text = add(ident, step) if found is None else found
        duration = end - start if end > start else 0
        definition.samples.append(duration)
        body_ns += duration
        status = name_of(step)
        statuses = definition.statuses
        statuses[status] = statuses.get(status, 0) + 1
        definition.rss_delta += rss1 - rss0
        # plain compares: a max() call per step costs more in this loop
        if peak > definition.peak:  # noqa: PLR1730
            definition.peak = peak
        text.count += 1
        text.total_ns += duration
        if duration > text.max_ns:  # noqa: PLR1730
            text.max_ns = duration
    rows = [d.row() for d in slots.definitions.values()]
    rows.sort(key=lambda r: -r["total_ms"])
    return rows, body_ns
