"""Findings and the audit result: plain data shared by the engine, the rules and renderers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from qhub._record import frozen_record


class Severity(IntEnum):
    """How bad a finding is; ``--fail-on`` compares against this order."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"info"|"warning"|"error"`` (any case) to a :class:`Severity`."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (allowed: info, warning, error)") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@frozen_record(slots=False)
class Location:
    """A place in a file: path as displayed (relative to the project root) and 1-based line."""

    path: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Finding:
    """One problem at one place, with a concrete suggestion."""

    rule: str
    """Rule id, e.g. ``QH101``."""
    name: str
    """Rule name, e.g. ``heavy-import``."""
    severity: Severity
    location: Location
    message: str
    suggestion: str
    module: str | None = None
    """The imported module the finding is about, when there is one."""
    related: list[Location] = field(default_factory=list)
    chain: list[Location] = field(default_factory=list)
    """Import statements from the file behave loads down to this one (helper modules)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Rule-specific figures (costs in ms, step names), also emitted in JSON."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.label,
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "message": self.message,
            "suggestion": self.suggestion,
            "module": self.module,
            "related": [{"path": r.path, "line": r.line} for r in self.related],
            "chain": [{"path": c.path, "line": c.line} for c in self.chain],
            "data": self.data,
        }


@dataclass
class ModuleCost:
    """What one imported (installed or standard-library) module costs, and who pays."""

    module: str
    """The import as written and measured: ``selenium.webdriver`` or ``from a import b``."""
    status: str
    """``measured``, ``failed``, ``timeout`` or ``blocked`` (would have run project code)."""
    standalone_ms: float = 0.0
    """Cost on top of what behave itself has already loaded."""
    cumulative_ms: float = 0.0
    """Cost in a bare interpreter (``-X importtime``)."""
    paid_by: Location | None = None
    """The first import in behave's load order: it pays."""
    paid_ms: float = 0.0
    """What the paying import really costs once earlier imports are in ``sys.modules``."""
    chain: list[Location] = field(default_factory=list)
    """How behave reaches the paying import (file behave loads first)."""
    importers: list[Location] = field(default_factory=list)
    error: str | None = None
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "status": self.status,
            "standalone_ms": round(self.standalone_ms, 3),
            "cumulative_ms": round(self.cumulative_ms, 3),
            "paid_by": None
            if self.paid_by is None
            else {"path": self.paid_by.path, "line": self.paid_by.line},
            "paid_ms": round(self.paid_ms, 3),
            "chain": [{"path": c.path, "line": c.line} for c in self.chain],
            "importers": [{"path": i.path, "line": i.line} for i in self.importers],
            "error": self.error,
            "cached": self.cached,
        }


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``s2`` before ``s10`` (numbers compared as numbers)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in _DIGITS.split(text) if part
    )


@dataclass
class AuditResult:
    """Everything one audit found, ready for a renderer (renderers write nothing back)."""

    root: str
    files: list[str]
    """Analysed files (relative to the root) in behave's load order, helpers included."""
    findings: list[Finding]
    modules: dict[str, ModuleCost]
    total_load_ms: float
    """Estimated import cost of loading environment.py and every step module."""
    saving_ms: float
    """Saving if every lazy-candidate suggestion is applied together (what ``--diff`` moves)."""
    interpreter: str
    python_version: str
    target_version: tuple[int, int]
    saving_modules: list[str] = field(default_factory=list)
    """The modules step loading would no longer load then (sorted)."""
    behave_version: str | None = None
    """behave of the target interpreter: its step semantics are the ones checked."""
    suppressed: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict, repr=False)
    """Display path -> absolute path of every analysed file (for fixes)."""

    def counts(self) -> dict[str, int]:
        out = {s.label: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.label] += 1
        return out

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def exit_code(self, fail_on: Severity) -> int:
        """0 when no finding is at or above ``fail_on``, else 1."""
        worst = self.worst()
        return 1 if worst is not None and worst >= fail_on else 0
