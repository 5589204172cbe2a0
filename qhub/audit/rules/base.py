"""What every rule family shares: the rule record, the inputs, and the emitter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from qhub._record import frozen_record
from qhub.audit.model import Finding, Location, Severity

if TYPE_CHECKING:
    from qhub.audit.costs import CostModel
    from qhub.audit.interpreter import Interpreter
    from qhub.audit.loadorder import Frame, Trace, Unit
    from qhub.audit.measure import Measurement
    from qhub.audit.options import AuditOptions
    from qhub.audit.sources import SourceFile
    from qhub.audit.stepcheck import StepReport


@frozen_record(slots=False)
class Rule:
    """One kind of finding."""

    id: str
    name: str
    severity: Severity
    summary: str


class Emit(Protocol):
    """Records a finding unless its rule is off or a ``# qhub: ignore`` comment silences it."""

    def __call__(
        self,
        rule_id: str,
        path: str,
        line: int,
        message: str,
        suggestion: str,
        *,
        end_line: int | None = None,
        module: str | None = None,
        related: Sequence[Location] = (),
        chain: Sequence[Location] = (),
        severity: Severity | None = None,
        data: dict[str, Any] | None = None,
    ) -> Finding | None: ...


@dataclass
class RuleContext:
    """The frozen inputs of every rule (rules read it; only ``notes`` grows)."""

    sources: dict[str, SourceFile]
    """Every file read, by display path (problems included)."""
    trace: Trace
    options: AuditOptions
    interp: Interpreter
    target: tuple[int, int]
    measured: dict[str, Measurement] = field(default_factory=dict)
    costs: CostModel | None = None
    steps: StepReport | None = None
    layout_problems: list[tuple[str, str]] = field(default_factory=list)
    latent_shadows: list[tuple[str, str, str]] = field(default_factory=list)
    """(display, module name, what it hides) of project files named like other modules."""
    notes: list[str] = field(default_factory=list)

    def project_units(self) -> list[Unit]:
        """Executed files that belong to the project (not installed step libraries)."""
        return [u for u in self.trace.units.values() if u.role != "library" and u.facts]


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def chain_locations(chain: Sequence[Frame]) -> list[Location]:
    return [Location(f.path, f.line) for f in chain]


def chain_text(chain: Sequence[Frame], here: Location, module: str, cost: float) -> str:
    """``steps/login.py:3 → pages/login.py:1 → selenium 412 ms``."""
    hops = [f"{f.path}:{f.line}" for f in chain] + [str(here)]
    return " → ".join(hops) + f" → {module} {ms(cost)}"
