"""QH103: an unused import that costs step-loading time.

Plain unused imports are ruff's job (F401). This rule reports only what ruff cannot see:
an unused import of an installed module whose removal saves measurable step-loading time.
Never reported: imports kept for a side effect (step libraries, project modules, which may
register steps or types), ``# noqa`` lines, names in ``__all__``, names used in type
comments or string annotations, guarded or conditional imports, and modules other project
modules import names from.
"""

from __future__ import annotations

from qhub.audit.costs import SiteKey
from qhub.audit.model import Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext, chain_locations, ms

RULES = (
    Rule("QH103", "unused-import", Severity.WARNING,
         "An unused import of an installed module costs step-loading time."),
)


def check(ctx: RuleContext, emit: Emit) -> None:
    costs = ctx.costs
    if costs is None:
        return
    libraries = {u.module for u in ctx.trace.units.values() if u.role == "library"}
    seen: set[SiteKey] = set()
    for ext in ctx.trace.externals:
        unit = ctx.trace.units[ext.unit]
        facts = unit.facts
        site = ext.site
        key = SiteKey(ext.unit, site.line, ext.form)
        if facts is None or key in seen or site.star or site.guarded or site.conditional:
            continue
        seen.add(key)
        if unit.display in ctx.trace.imported_names or not unit.roles <= {"environment", "step"}:
            continue
        if any(m == site.module or (m or "").startswith(site.module + ".") for m in libraries):
            continue
        noqa = facts.noqa_codes(site.line, site.end_line)
        if "*" in noqa or "F401" in noqa:
            continue
        measured = ctx.measured.get(ext.form)
        if measured is None or not measured.ok:
            continue
        unused = [b for b in site.bindings
                  if not facts.uses[b.name].used and b.name not in facts.all_names
                  and b.name not in facts.keep_names]
        if not unused or len(unused) != len(site.bindings):
            continue
        saving = costs.saving([key])
        if saving < ctx.options.min_cost_ms:
            continue
        names = ", ".join(f"`{b.name}`" for b in unused)
        emit("QH103", ext.unit, site.line,
             f"{names} is imported but never used; deleting the import saves {ms(saving)} of "
             "step loading (ruff's F401 finds unused imports; this one costs time)",
             "delete the import (or, if it is imported for a side effect, say so with "
             "`# noqa: F401`)",
             end_line=site.end_line, module=site.module, chain=chain_locations(ext.chain),
             data={"saving_ms": round(saving, 3), "names": [b.name for b in unused]})
