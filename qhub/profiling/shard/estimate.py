"""How long each scenario and feature takes, from the recorded runs.

The newest ``runs`` behave runs that have per-item figures give, per scenario identity,
the median of its recorded durations, and per feature file the median of its *overhead*
(the feature's time beyond its scenarios': ``before_feature``/``after_feature`` hooks),
paid once by every shard that runs any of its scenarios. Identities are compared with
their file part normalized, so runs started as ``behave``, ``behave features/`` or
``behave features/x.feature:12`` all count.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import field

from qhub._record import frozen_record
from qhub.profiling.history.base import RunHistory
from qhub.profiling.shard.suite import normalize_file, normalize_key


@frozen_record(slots=False)
class Durations:
    """Recorded durations (ms) by scenario key and feature overhead by file."""

    scenarios: dict[str, float] = field(default_factory=dict)
    overheads: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    """How many recorded runs they come from."""

    def median(self, keys: Iterable[str]) -> float | None:
        """The median recorded duration among ``keys`` (those with history)."""
        known = [self.scenarios[k] for k in keys if k in self.scenarios]
        return statistics.median(known) if known else None


def from_history(history: RunHistory, runs: int) -> Durations:
    """Durations from the newest ``runs`` runs that stored figures (see the module doc)."""
    summaries = [s for s in history.runs(runs * 3) if (s.status or "passed") != "interrupted"]
    figures = history.figures([s.id for s in summaries])
    used = [figures[s.id] for s in summaries if s.id in figures][:runs]
    samples: dict[str, list[float]] = {}
    overhead: dict[str, list[float]] = {}
    for run in used:
        by_feature: dict[str, float] = {}
        for key, (ms, _) in run.get("scenario", {}).items():
            normalized = normalize_key(key)
            samples.setdefault(normalized, []).append(ms)
            file = normalized.partition("::")[0]
            by_feature[file] = by_feature.get(file, 0.0) + ms
        for file, (ms, _) in run.get("feature", {}).items():
            normalized = normalize_file(file)
            if normalized in by_feature:
                overhead.setdefault(normalized, []).append(max(0.0, ms - by_feature[normalized]))
    return Durations(
        {k: statistics.median(v) for k, v in samples.items()},
        {k: statistics.median(v) for k, v in overhead.items()},
        len(used),
    )
