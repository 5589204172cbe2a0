"""Who pays for an import: Python only runs a module once, so the first importer pays.

Walking module-level imports in behave's load order, each import costs the self times of
the modules it loads that are not yet in ``sys.modules`` (starting from what behave itself
has already loaded). Costs are therefore never counted twice, and removing one import
shows what moving it alone would save (often nothing: the next importer pays instead).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
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


class Attribution:
    """:func:`attribute` precomputed once, so "what if these imports moved" is cheap.

    Each module loaded at start-up is charged to the first site whose import tree holds
    it; moving a set of sites hands each of their charges to the next site (in load order,
    not moved) that also loads that module, or saves it entirely when there is none.
    """

    def __init__(
        self,
        sites: Sequence[SiteKey],
        trees: Mapping[str, Mapping[str, int]],
        baseline: Collection[str],
    ) -> None:
        self.sites = list(sites)
        self.positions: dict[SiteKey, list[int]] = {}
        self.occurrences: dict[str, list[tuple[int, int]]] = {}
        self.charged: dict[int, list[str]] = {}
        for i, site in enumerate(self.sites):
            self.positions.setdefault(site, []).append(i)
            for name, us in trees.get(site.module, {}).items():
                if name in baseline:
                    continue
                seen = self.occurrences.setdefault(name, [])
                if not seen:
                    self.charged.setdefault(i, []).append(name)
                seen.append((i, us))
        self.paid: dict[SiteKey, float] = {}
        for site, positions in self.positions.items():
            us = sum(self.occurrences[n][0][1] for i in positions for n in self.charged.get(i, []))
            self.paid[site] = us / 1000.0
        self.total_ms = sum(self.paid.values())

    def saving(self, moved: Iterable[SiteKey]) -> float:
        """Milliseconds saved at start-up if the ``moved`` imports no longer ran."""
        gone = {i for site in moved for i in self.positions.get(site, [])}
        saved = 0
        for i in gone:
            for name in self.charged.get(i, []):
                first = self.occurrences[name][0][1]
                after = next((us for j, us in self.occurrences[name] if j not in gone), 0)
                saved += first - after
        return saved / 1000.0
