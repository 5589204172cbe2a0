"""The audit's rules, one family per module (as ruff organises its rules).

Each family module has ``RULES`` (id, name, default severity, summary) and
``check(ctx, emit)``. ``--select`` / ``--ignore`` and ``# qhub: ignore[...]`` accept a rule
id (``QH101``), an id prefix (``QH1``) or a name (``heavy-import``).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from qhub.audit.rules import (
    cost,
    duplicate,
    failed,
    files,
    reimport,
    shadow,
    steps,
    syspath,
    unused,
)
from qhub.audit.rules.base import Rule
from qhub.exceptions import AuditError

FAMILIES: tuple[ModuleType, ...] = (
    files, failed, cost, unused, duplicate, reimport, syspath, shadow, steps,
)
RULES: tuple[Rule, ...] = tuple(sorted((r for f in FAMILIES for r in f.RULES), key=lambda r: r.id))
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

PRIORITY: tuple[str, ...] = (
    "QH001", "QH002", "QH003", "QH005", "QH100", "QH201", "QH203", "QH109", "QH102",
    "QH101", "QH106", "QH105", "QH103", "QH104", "QH107", "QH108", "QH202", "QH004",
)
"""When several rules hit one line, the first of these is reported (the others are named
in its data): a line is never reported twice."""


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
