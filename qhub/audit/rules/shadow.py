"""QH109: a project module named like a standard-library or installed module."""

from __future__ import annotations

from qhub.audit.model import Location, Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH109", "shadowed-module", Severity.WARNING,
         "A project module has the name of a standard-library or installed module, so "
         "`import NAME` gets the project file instead."),
)


def check(ctx: RuleContext, emit: Emit) -> None:
    done: set[str] = set()
    for shadow in ctx.trace.shadows.values():
        done.add(shadow.display)
        importers = list(dict.fromkeys(shadow.importers))
        where = ", ".join(f"{f.path}:{f.line}" for f in importers[:3])
        emit("QH109", shadow.display, 1,
             f"`{shadow.name}` here hides {shadow.other}: `import {shadow.name}` "
             f"({where or 'in this suite'}) gets this project file, for every importer on "
             "behave's sys.path",
             f"rename the module (and its imports) so `{shadow.name}` means the real one again",
             module=shadow.name, related=[Location(f.path, f.line) for f in importers])
    for display, name, other in ctx.latent_shadows:
        if display in done:
            continue
        emit("QH109", display, 1,
             f"`{name}` here hides {other} while behave runs (this folder is on its "
             f"sys.path): any `import {name}` - in your code or in a library - gets this file",
             f"rename the module so `{name}` means the real one again", module=name)
