"""QH104: the same name imported twice in one scope of one file."""

from __future__ import annotations

from typing import Any

from qhub.audit.model import Location, Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH104", "duplicate-import", Severity.WARNING,
         "The same name is imported twice in one scope of one file."),
)


def check(ctx: RuleContext, emit: Emit) -> None:
    for unit in ctx.project_units():
        assert unit.facts is not None
        if not unit.roles & {"environment", "step"}:
            continue  # helpers: only what costs step-loading time is reported there
        seen: dict[tuple[Any, ...], int] = {}
        for site in unit.facts.imports:
            keys = [(site.owner, site.module, "*")] if site.star else [
                (site.owner, site.module, b.alias.name, b.name) for b in site.bindings
            ]
            for k in keys:
                if k in seen and seen[k] != site.line:
                    name = site.module + ".*" if site.star else k[-1]
                    emit("QH104", unit.display, site.line,
                         f"`{name}` from `{site.module}` is already imported on line {seen[k]}",
                         "delete this import", end_line=site.end_line, module=site.module,
                         related=[Location(unit.display, seen[k])])
                else:
                    seen.setdefault(k, site.line)
