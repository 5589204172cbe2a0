"""Who pays for an import: Python only runs a module once, so the first importer pays.

Walking module-level imports in behave's load order, each import costs the self times of
the modules it loads that are not yet in ``sys.modules`` (starting from what behave itself
has already loaded). Costs are therefore never counted twice, and removing one import
shows what moving it alone would save (often nothing: the next importer pays instead).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteKey:
    """One module-level import of one module: file (display path), line, module."""

    path: str
    line: int
    module: str


def attribute(
    sites: Sequence[SiteKey],
    self_us: Mapping[str, Mapping[str, int]],
    baseline: Collection[str],
    skip: Collection[SiteKey] = (),
) -> tuple[dict[SiteKey, float], float]:
    """Cost in ms each site pays, and the total, with the ``skip`` sites left out."""
    loaded = set(baseline)
    paid: dict[SiteKey, float] = {}
    total_us = 0
    for site in sites:
        if site in skip:
            continue
        tree = self_us.get(site.module, {})
        cost = sum(us for name, us in tree.items() if name not in loaded)
        loaded.update(tree)
        paid[site] = cost / 1000.0
        total_us += cost
    return paid, total_us / 1000.0


def standalone_ms(tree: Mapping[str, int], baseline: Collection[str]) -> float:
    """Cost of importing a module first thing after behave started."""
    return sum(us for name, us in tree.items() if name not in baseline) / 1000.0
