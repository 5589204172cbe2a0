"""QH107: imports repeated in a loop, and ``importlib.reload``."""

from __future__ import annotations

from qhub.audit.model import Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH107", "reimport", Severity.WARNING,
         "An import inside a loop, or importlib.reload(), re-imports needlessly."),
)


def check(ctx: RuleContext, emit: Emit) -> None:
    for unit in ctx.project_units():
        assert unit.facts is not None
        if not unit.roles & {"environment", "step"}:
            continue  # helpers: only what costs step-loading time is reported there
        for site in unit.facts.imports:
            if site.in_loop:
                emit("QH107", unit.display, site.line,
                     f"`import {site.module}` inside a loop looks the module up on every "
                     "iteration",
                     "import it once, above the loop (at the top of the function)",
                     end_line=site.end_line, module=site.module)
        for line, what in unit.facts.reimports:
            emit("QH107", unit.display, line,
                 f"{what}: the module is executed or looked up again needlessly",
                 "import once at the top of the function (or module) and reuse the module")
