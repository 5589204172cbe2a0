"""Recipes: everything that determines a dataset, hashed into a key that cannot go stale.

A cache key is a hash of (kind, template content hash, generator version, Faker version,
seed, locale, count, options). Change any of them (edit a template, upgrade qhub or Faker,
change the seed) and the key changes, so stale data is never served. Hashes use
:mod:`hashlib` over canonical JSON, never ``hash()``, so they agree across processes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import field
from functools import cached_property
from typing import Any

from qhub._record import frozen_record
from qhub.data._faker import faker_version

GENERATOR_VERSION = "1"
"""Bumped whenever a built-in kind or the rendering of templates changes its output."""


def canonical_json(value: Any) -> str:
    """Deterministic JSON text (sorted keys, no whitespace) used for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def stable_hash(value: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json` of ``value``; equal across processes."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@frozen_record(slots=False)
class Recipe:
    """What one cached dataset is made from."""

    kind: str
    """Built-in kind (``user``, ``product``...) or template name."""
    count: int
    seed: int
    locale: str
    template_hash: str | None = None
    """Content hash of the template (and the templates it depends on); None for built-ins."""
    options: dict[str, Any] = field(default_factory=dict)
    """Generation options that change the output (first id, related datasets' keys)."""

    def payload(self) -> dict[str, Any]:
        """Every input of the dataset, as hashed into its key."""
        return {
            "kind": self.kind,
            "count": self.count,
            "seed": self.seed,
            "locale": self.locale,
            "template": self.template_hash,
            "options": self.options,
            "generator": GENERATOR_VERSION,
            "faker": faker_version(),
        }

    @cached_property
    def digest(self) -> str:
        """Hex SHA-256 of :meth:`payload`."""
        return stable_hash(self.payload())

    @cached_property
    def key(self) -> str:
        """Cache key: readable prefix (for ``invalidate_pattern``) plus the recipe digest."""
        return f"{self.kind}:{self.count}:{self.digest[:32]}"

    @property
    def faker_seed(self) -> int:
        """64-bit seed for Faker, derived from the recipe (same recipe, same records)."""
        return int.from_bytes(hashlib.sha256(b"seed:" + self.digest.encode()).digest()[:8], "big")
