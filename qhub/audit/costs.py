"""Who pays for an import, and what moving imports really saves.

Python runs a module once: the first import in behave's load order pays for every module
it loads that is not yet in ``sys.modules`` (behave's own modules are free). Each loaded
module has one self time (the fastest seen across measurements), so step loading costs
the sum of the self times of every module some import loads. Moving a set of imports
saves exactly the modules that *only* those imports load: never negative, zero when
another import loads them anyway, and the saving of several moves taken together is
computed the same way (never the sum of separate claims).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from qhub._record import frozen_record


@frozen_record(slots=False)
class SiteKey:
    """One import statement: file (display path), line, and the statement as measured."""

    path: str
    line: int
    form: str


class CostModel:
    """Step-loading import costs for a sequence of import executions in load order."""

    def __init__(
        self,
        sites: Sequence[SiteKey],
        trees: Mapping[str, Mapping[str, int]],
        baseline: Collection[str],
    ) -> None:
        """``sites``: every execution of a measured import, in order (a statement may
        appear several times); ``trees``: statement -> {module: self µs}."""
        self.sites = list(sites)
        self.self_us: dict[str, int] = {}
        for tree in trees.values():
            for name, us in tree.items():
                if name not in baseline:
                    best = self.self_us.get(name)
                    self.self_us[name] = us if best is None else min(best, us)
        self.tree: dict[str, frozenset[str]] = {
            form: frozenset(n for n in tree if n not in baseline) for form, tree in trees.items()
        }
        self.distinct: list[SiteKey] = list(dict.fromkeys(self.sites))
        self.loaders: dict[str, int] = {}
        """Module -> how many distinct statements load it."""
        self.payer: dict[str, SiteKey] = {}
        for site in self.distinct:
            for name in self.tree.get(site.form, ()):
                self.loaders[name] = self.loaders.get(name, 0) + 1
        for site in self.sites:
            for name in self.tree.get(site.form, ()):
                self.payer.setdefault(name, site)
        self.paid_us: dict[SiteKey, int] = {}
        for name, site in self.payer.items():
            self.paid_us[site] = self.paid_us.get(site, 0) + self.self_us[name]
        self.total_ms = sum(self.self_us[n] for n in self.payer) / 1000.0
        self._by_module: dict[str, list[SiteKey]] = {}
        for site in self.distinct:
            for name in self.tree.get(site.form, ()):
                self._by_module.setdefault(name, []).append(site)
        self._saved: dict[frozenset[SiteKey], float] = {}
        self._known = set(self.distinct)

    def paid_ms(self, site: SiteKey) -> float:
        """What ``site`` costs where it stands in the load order."""
        return self.paid_us.get(site, 0) / 1000.0

    def standalone_ms(self, form: str) -> float:
        """What the statement costs first thing after behave started."""
        return sum(self.self_us[n] for n in self.tree.get(form, ())) / 1000.0

    def gone(self, moved: Iterable[SiteKey]) -> set[str]:
        """Modules step loading no longer loads if the ``moved`` statements no longer ran."""
        counts: dict[str, int] = {}
        for site in set(moved) & self._known:
            for name in self.tree.get(site.form, ()):
                counts[name] = counts.get(name, 0) + 1
        return {n for n, c in counts.items() if c == self.loaders.get(n, -1)}

    def saving(self, moved: Iterable[SiteKey]) -> float:
        """Milliseconds step loading saves if the ``moved`` statements no longer ran."""
        key = frozenset(moved)
        found = self._saved.get(key)
        if found is None:
            found = self._saved[key] = sum(self.self_us[n] for n in self.gone(key)) / 1000.0
        return found

    def also_loading(self, module: str, exclude: Collection[SiteKey]) -> list[SiteKey]:
        """Other statements whose import loads ``module`` too, in load order."""
        return [s for s in self._by_module.get(module, []) if s not in exclude]
