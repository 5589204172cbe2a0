"""QH100: a module-level import that fails when behave loads the steps."""

from __future__ import annotations

from qhub.audit.model import Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext, chain_locations

RULES = (
    Rule("QH100", "import-failed", Severity.ERROR,
         "A module imported at module level is not found, or fails (or times out) on import."),
)


def check(ctx: RuleContext, emit: Emit) -> None:
    trace = ctx.trace
    for miss in trace.missing:
        site = miss.site
        if site.guarded or site.conditional:
            continue
        if miss.reason == "not found" and trace.path_uncertain:
            continue
        if miss.reason == "not found":
            message = (f"`{miss.name}` is not found on behave's sys.path (the steps folder, "
                       "the features folder, the working folder, then the interpreter's path)")
            fix = ("install the missing package, fix the module name, or guard the import "
                   "with try/except ImportError")
        else:
            message = f"`from {site.module} import ...`: {miss.reason}; behave stops here"
            fix = "use an absolute import (behave puts the steps folder on sys.path)"
        emit("QH100", miss.unit, site.line, message, fix, end_line=site.end_line,
             module=miss.name, data={"error": miss.reason, "timeout": False})
    seen: set[tuple[str, int, str]] = set()
    for ext in trace.externals:
        m = ctx.measured.get(ext.form)
        site = ext.site
        key = (ext.unit, site.line, ext.form)
        if m is None or m.ok or m.blocked or site.guarded or site.conditional or key in seen:
            continue
        seen.add(key)
        if m.timeout:
            message = f"`{ext.form}` did not finish importing within {ctx.options.timeout_s:g} s"
            fix = ("find what the module does at import time (network, large files), or "
                   "raise --timeout if it is only slow")
        else:
            message = f"`{ext.form}` fails on import: {m.error}"
            fix = ("install the missing package or the right version of it, or guard the "
                   "import with try/except ImportError")
        emit("QH100", ext.unit, site.line, message, fix, end_line=site.end_line,
             module=site.module, chain=chain_locations(ext.chain),
             data={"error": m.error, "timeout": m.timeout})
