"""The audit's rules: id, name, default severity and a one-line description each.

``--select`` / ``--ignore`` and ``# qhub: ignore[...]`` accept a rule id (``QH101``), an id
prefix (``QH1``) or a name (``heavy-import``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qhub.exceptions import AuditError
from qhub.imports.model import Severity


@dataclass(frozen=True)
class Rule:
    """One kind of finding."""

    id: str
    name: str
    severity: Severity
    summary: str


RULES: tuple[Rule, ...] = (
    Rule("QH001", "syntax-error", Severity.ERROR, "A file behave would load does not parse."),
    Rule("QH002", "unreadable", Severity.ERROR,
         "A file cannot be read or decoded (bad encoding, symlink loop, permissions)."),
    Rule("QH003", "too-large", Severity.WARNING, "A file is above the size limit and was skipped."),
    Rule("QH004", "empty-file", Severity.INFO, "A step module is empty and defines nothing."),
    Rule("QH100", "import-failed", Severity.ERROR,
         "A module imported at module level fails (or times out) when imported."),
    Rule("QH101", "heavy-import", Severity.WARNING,
         "A module whose measured import cost exceeds the threshold is imported at module level."),
    Rule("QH102", "lazy-candidate", Severity.INFO,
         "A module-level import is used only inside one or a few functions."),
    Rule("QH103", "unused-import", Severity.WARNING, "An imported name is never used."),
    Rule("QH104", "duplicate-import", Severity.WARNING,
         "The same name is imported twice in one scope of one file."),
    Rule("QH105", "redundant-across-files", Severity.WARNING,
         "A heavy module is imported at module level by many files but used by few steps."),
    Rule("QH106", "star-import", Severity.WARNING, "``from heavy import *`` loads a heavy module."),
    Rule("QH107", "reimport", Severity.WARNING,
         "An import inside a loop, or importlib.reload(), re-imports needlessly."),
    Rule("QH108", "sys-path", Severity.WARNING,
         "A step file changes sys.path, so imports depend on load order and working folder."),
    Rule("QH201", "ambiguous-step", Severity.ERROR,
         "A step pattern is matched by one defined earlier (behave raises AmbiguousStep)."),
    Rule("QH202", "unused-step", Severity.INFO, "No step of any feature uses this definition."),
)

BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def resolve(token: str) -> set[str]:
    """Rule ids a ``--select``/``--ignore`` token means; unknown tokens are an AuditError."""
    t = token.strip()
    if not t:
        return set()
    if t.upper() == "ALL":
        return set(BY_ID)
    if t in BY_NAME:
        return {BY_NAME[t].id}
    matched = {rid for rid in BY_ID if rid.startswith(t.upper())}
    if not matched:
        known = ", ".join(f"{r.id} ({r.name})" for r in RULES)
        raise AuditError(f"unknown rule {token!r}; known rules: {known}")
    return matched


def selection(select: Iterable[str] | None, ignore: Iterable[str] | None) -> set[str]:
    """The active rule ids: everything (or ``select``) minus ``ignore``."""
    chosen: set[str] = set()
    for item in select or ["ALL"]:
        for part in item.split(","):
            chosen |= resolve(part)
    for item in ignore or []:
        for part in item.split(","):
            chosen -= resolve(part)
    return chosen


def suppressed_by(rule_id: str, tokens: set[str]) -> bool:
    """Whether an inline ``# qhub: ignore[...]`` with ``tokens`` silences ``rule_id``."""
    if "*" in tokens:
        return True
    rule = BY_ID[rule_id]
    return any(t == rule.name or (t and rule_id.startswith(t.upper())) for t in tokens)
