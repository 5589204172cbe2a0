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

Stored histograms come back from the run history, which may hold anything: before hdrh
sees one, :func:`check_encoded` refuses a text qhub could not have written (too long, a
zlib payload that inflates past any real histogram's size, settings other than qhub's), so
a few hundred kilobytes cannot make it allocate gigabytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3
MAX_ENCODED_CHARS = 1 << 20
"""Longest stored text decoded. A full histogram with qhub's settings inflates to ~210 kB
(~23,000 counters, at most 9 bytes each) and compresses to less."""
MAX_PAYLOAD_BYTES = 1 << 20
"""Largest decompressed payload accepted (the counters and their header)."""
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
        """A histogram from :meth:`encode`'s text (a :class:`ValueError` if it is not one,
        or not one qhub could have written: :func:`check_encoded`)."""
        check_encoded(text)
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


def check_encoded(text: str) -> None:
    """Raise :class:`ValueError` unless ``text`` could be :meth:`LatencyHistogram.encode`'s:
    checked before anything is allocated for its counters, with hdrh's own header layouts.
    """
    import base64
    import binascii
    import zlib

    from hdrh.codec import PayloadHeader, ext_header_size, payload_header_size

    if len(text) > MAX_ENCODED_CHARS:
        raise ValueError(
            f"encoded histogram of {len(text):,} characters, over {MAX_ENCODED_CHARS:,}"
        )
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"not an encoded latency histogram: {exc}") from None
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(raw[ext_header_size:], MAX_PAYLOAD_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"not an encoded latency histogram: {exc}") from None
    if len(payload) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise ValueError(f"encoded histogram inflates past {MAX_PAYLOAD_BYTES:,} bytes")
    if len(payload) < payload_header_size:
        raise ValueError("not an encoded latency histogram: too short")
    header = PayloadHeader.from_buffer_copy(payload)
    if (
        header.lowest_trackable_value != LOWEST_US
        or header.highest_trackable_value != HIGHEST_US
        or not 1 <= header.significant_figures <= SIGNIFICANT_DIGITS
    ):
        raise ValueError(
            "encoded histogram with settings qhub does not write (range"
            f" {header.lowest_trackable_value}-{header.highest_trackable_value} us,"
            f" {header.significant_figures} digits)"
        )
