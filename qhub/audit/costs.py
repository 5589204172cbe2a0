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
from dataclasses import dataclass


@dataclass(frozen=True)
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
        self.loaders: dict[str, set[SiteKey]] = {}
        self.payer: dict[str, SiteKey] = {}
        for site in self.sites:
            for name in self.tree.get(site.form, ()):
                self.loaders.setdefault(name, set()).add(site)
                self.payer.setdefault(name, site)
        self.paid_us: dict[SiteKey, int] = {}
        for name, site in self.payer.items():
            self.paid_us[site] = self.paid_us.get(site, 0) + self.self_us[name]
        self.total_ms = sum(self.self_us[n] for n in self.payer) / 1000.0

    def paid_ms(self, site: SiteKey) -> float:
        """What ``site`` costs where it stands in the load order."""
        return self.paid_us.get(site, 0) / 1000.0

    def standalone_ms(self, form: str) -> float:
        """What the statement costs first thing after behave started."""
        return sum(self.self_us[n] for n in self.tree.get(form, ())) / 1000.0

    def first_site(self, form: str) -> SiteKey | None:
        return next((s for s in self.sites if s.form == form), None)

    def gone(self, moved: Iterable[SiteKey]) -> set[str]:
        """Modules step loading no longer loads if the ``moved`` statements no longer ran."""
        moved_set = set(moved)
        names: set[str] = set()
        for site in moved_set:
            names.update(self.tree.get(site.form, ()))
        return {n for n in names if n in self.loaders and self.loaders[n] <= moved_set}

    def saving(self, moved: Iterable[SiteKey]) -> float:
        """Milliseconds step loading saves if the ``moved`` statements no longer ran."""
        return sum(self.self_us[n] for n in self.gone(moved)) / 1000.0

    def also_loading(self, module: str, exclude: Collection[SiteKey]) -> list[SiteKey]:
        """Other statements whose import loads ``module`` too, in load order."""
        out: dict[SiteKey, None] = {}
        for site in self.sites:
            if site not in exclude and module in self.tree.get(site.form, ()):
                out.setdefault(site)
        return list(out)
