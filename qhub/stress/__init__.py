"""``qhub stress``: the suite's own scenarios as a load test, with honest percentiles.

Modules, one concept each: ``plan`` (users, length, pace, multiplier), ``suite`` (behave's
loader, before_all/after_all), ``users`` (a virtual user: its own model and context),
``pacing`` (back to back, or on a schedule with coordinated omission accounted for),
``engine`` (threads, clock, stop), ``sink`` and ``measure`` (every request, step and
scenario into HDR histograms), ``guard`` (load only to configured hosts), ``result``
(the frozen record), ``budgets`` (the gate), ``compare`` and ``history`` (the previous run,
read from and recorded in the run history), ``render`` (text, JSON, Prometheus, HTML).

Nothing heavy is imported here; behave and hdrhistogram load when a run starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "StressOptions": "qhub.stress.run",
    "StressRun": "qhub.stress.run",
    "run_stress": "qhub.stress.run",
    "write_reports": "qhub.stress.run",
    "StressResult": "qhub.stress.result",
    "StressPlan": "qhub.stress.plan",
    "LatencyHistogram": "qhub.stress.histogram",
}

__all__ = [
    "LatencyHistogram",
    "StressOptions",
    "StressPlan",
    "StressResult",
    "StressRun",
    "run_stress",
    "write_reports",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from qhub.stress.histogram import LatencyHistogram
    from qhub.stress.plan import StressPlan
    from qhub.stress.result import StressResult
    from qhub.stress.run import StressOptions, StressRun, run_stress, write_reports
