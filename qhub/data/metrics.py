"""Counters behind ``get_cache_performance_metrics()``: hits, misses and where time went."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from qhub._figures import percent


@dataclass
class DataMetrics:
    """How test data was obtained during a run: generated (miss) or served from cache (hit)."""

    hits: int = 0
    misses: int = 0
    data_generation_time: float = 0.0
    """Seconds spent generating records (Faker) on cache misses."""
    data_retrieval_time: float = 0.0
    """Seconds spent fetching datasets from the cache on hits."""
    records_generated: int = 0
    records_served: int = 0
    template_parse_hits: int = 0
    template_parse_misses: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hit(self, seconds: float) -> None:
        """A dataset came from the cache in ``seconds``."""
        with self._lock:
            self.hits += 1
            self.data_retrieval_time += seconds

    def miss(self, seconds: float, records: int) -> None:
        """``records`` were generated in ``seconds``."""
        with self._lock:
            self.misses += 1
            self.data_generation_time += seconds
            self.records_generated += records

    def served(self, records: int) -> None:
        """``records`` were handed to the caller."""
        with self._lock:
            self.records_served += records

    @property
    def hit_rate_percent(self) -> float:
        """Share of dataset lookups answered by the cache, 0-100."""
        return percent(self.hits, self.hits + self.misses)

    def as_dict(self, faker_calls: int, faker_instances: int) -> dict[str, Any]:
        """Plain dict for summaries and reports (times in seconds)."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate_percent": self.hit_rate_percent,
            "data_generation_time": round(self.data_generation_time, 6),
            "data_retrieval_time": round(self.data_retrieval_time, 6),
            "records_generated": self.records_generated,
            "records_served": self.records_served,
            "faker_calls": faker_calls,
            "faker_instances": faker_instances,
            "template_parse_hits": self.template_parse_hits,
            "template_parse_misses": self.template_parse_misses,
        }
