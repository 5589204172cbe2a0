"""QH001-QH005: files behave would load that cannot be read or analysed."""

from __future__ import annotations

from qhub.audit.model import Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH001", "syntax-error", Severity.ERROR, "A file behave would load does not parse."),
    Rule("QH002", "unreadable", Severity.ERROR,
         "A file cannot be read or decoded (encoding, symlink loop, permissions, a FIFO)."),
    Rule("QH003", "too-large", Severity.WARNING, "A file is above the size limit and was skipped."),
    Rule("QH004", "empty-file", Severity.INFO, "A step module is empty and defines nothing."),
    Rule("QH005", "too-complex", Severity.WARNING,
         "A file nests too deeply for Python's parser; it was not analysed."),
)

_FIX = {
    "QH001": "fix the syntax error: behave stops when it loads this file",
    "QH002": "make the file a readable UTF-8 Python file (or declare its encoding), or remove it",
    "QH003": "split the file, or generate it outside the steps folder",
    "QH005": "flatten the deeply nested expression (build it in steps or from data)",
}


def check(ctx: RuleContext, emit: Emit) -> None:
    for path, message in ctx.layout_problems:
        emit("QH002", path, 1, message, "fix or remove the entry")
    for src in ctx.sources.values():
        if src.problem is not None:
            rule_id, line, message = src.problem
            emit(rule_id, src.display, line, message, _FIX[rule_id])
        elif (src.text is not None and not src.text.strip() and src.path.name != "__init__.py"
              and _is_step_file(ctx, src.display)):
            emit("QH004", src.display, 1, "empty step module: behave loads it for nothing",
                 "delete the file or add the step definitions it was meant to hold")


def _is_step_file(ctx: RuleContext, display: str) -> bool:
    unit = ctx.trace.units.get(display)
    return unit is not None and unit.roles == {"step"}
