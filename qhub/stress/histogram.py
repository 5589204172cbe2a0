"""Latency distributions as HDR histograms: every sample counted, bounded memory.

A stress run can record millions of latencies. Keeping them all costs memory that grows with
the run; averaging per-worker percentiles is wrong. An HDR histogram (Gil Tene's design, the
``hdrhistogram`` package) counts every sample in log-linear buckets: with three significant
digits each recorded value is known to within 0.1 %, memory is fixed (~190 kB however long
the run), histograms merge exactly (counts add), and a percentile is read in milliseconds.

Values are recorded in whole microseconds from 1 µs to one hour; longer values are recorded
as one hour and counted in :attr:`LatencyHistogram.clamped`. Percentiles are nearest-rank
(the smallest recorded value with at least q % of the samples at or below it), reported as
the upper edge of that value's bucket, so they never understate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0)
"""The percentiles every stress table reports (plus the maximum)."""


def _hdr() -> Any:
    """The ``HdrHistogram`` class (imported on first use)."""
    try:
        from hdrh.histogram import HdrHistogram
    except ImportError:
        from qhub.exceptions import DependencyMissingError

        raise DependencyMissingError(
            "qhub stress needs the hdrhistogram package: pip install 'qhub[stress]'"
        ) from None
    return HdrHistogram


def _new(digits: int) -> HdrHistogram:
    return _hdr()(LOWEST_US, HIGHEST_US, digits)


class LatencyHistogram:
    """Latencies in milliseconds, recorded into an HDR histogram. Not thread-safe by
    itself: :class:`qhub.stress.measure.Measurements` records under its lock."""

    __slots__ = ("_hist", "clamped", "digits")

    def __init__(self, digits: int = SIGNIFICANT_DIGITS) -> None:
        self.digits = digits
        self._hist = _new(digits)
        self.clamped = 0
        """Samples above one hour, recorded as one hour."""

    def record(self, ms: float) -> None:
        """Count one latency (negative values, from clock quirks, count as 1 µs)."""
        us = int(ms * 1000.0 + 0.5)
        if us < LOWEST_US:
            us = LOWEST_US
        elif us > HIGHEST_US:
            us = HIGHEST_US
            self.clamped += 1
        self._hist.record_value(us)

    @property
    def count(self) -> int:
        return int(self._hist.get_total_count())

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in ms; 0.0 when empty."""
        if not self.count:
            return 0.0
        return float(self._hist.get_value_at_percentile(q)) / 1000.0

    def max(self) -> float:
        return float(self._hist.get_max_value()) / 1000.0 if self.count else 0.0

    def min(self) -> float:
        return float(self._hist.get_min_value()) / 1000.0 if self.count else 0.0

    def mean(self) -> float:
        return float(self._hist.get_mean_value()) / 1000.0 if self.count else 0.0

    def summary(self) -> dict[str, float]:
        """``count``, ``p50_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``, ``max_ms``, ``min_ms``,
        ``mean_ms`` (rounded to µs)."""
        out: dict[str, float] = {"count": self.count}
        for q in PERCENTILES:
            out[f"p{q:g}_ms"] = round(self.percentile(q), 3)
        out["max_ms"] = round(self.max(), 3)
        out["min_ms"] = round(self.min(), 3)
        out["mean_ms"] = round(self.mean(), 3)
        return out

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` to this one (exact: counts add)."""
        if other.count:
            self._hist.add(other._hist)
        self.clamped += other.clamped

    def copy(self) -> LatencyHistogram:
        twin = LatencyHistogram(self.digits)
        twin.merge(self)
        return twin

    def encode(self) -> str:
        """The whole distribution as compact base64 text (HdrHistogram's own format)."""
        raw: Any = self._hist.encode()
        return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        """A histogram from :meth:`encode`'s text (a :class:`ValueError` if it is not one)."""
        try:
            hist = _hdr().decode(text.encode("ascii"))
        except Exception as exc:  # hdrh raises assorted errors on garbage
            raise ValueError(f"not an encoded latency histogram: {exc}") from None
        if hist is None:
            raise ValueError("not an encoded latency histogram")
        out = cls(int(hist.significant_figures))
        out._hist = hist
        return out

    def values(self) -> list[tuple[float, int]]:
        """(value in ms, count) for every recorded bucket, lowest first."""
        return [
            (float(item.value_iterated_to) / 1000.0, int(item.count_at_value_iterated_to))
            for item in self._hist.get_recorded_iterator()
        ]
