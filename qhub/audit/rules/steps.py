"""QH201, QH202, QH203: step definitions as the target's behave registers and matches them."""

from __future__ import annotations

from qhub.audit.loadorder import StepEvent
from qhub.audit.model import Location, Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH201", "ambiguous-step", Severity.ERROR,
         "A step pattern is matched by one registered earlier: behave raises AmbiguousStep."),
    Rule("QH202", "unused-step", Severity.INFO,
         "No step of any feature file (nor any execute_steps text) uses this definition."),
    Rule("QH203", "bad-step-pattern", Severity.ERROR,
         "A step pattern does not compile with the behave in use."),
)


def _describe(ev: StepEvent) -> str:
    return f"@{ev.step.keyword}({ev.step.pattern!r})"


def _where(ev: StepEvent) -> Location:
    """Where to report a definition: its decorator, or the project import of a library."""
    if ev.role != "library" or not ev.chain:
        return Location(ev.unit, ev.step.line)
    return Location(ev.chain[0].path, ev.chain[0].line)


def check(ctx: RuleContext, emit: Emit) -> None:
    report = ctx.steps
    if report is None:
        return
    behave = f"behave {report.behave_version}"
    for d in report.definitions:
        ev = d.event
        if d.status == "ambiguous" and d.certain and d.other is not None:
            if ev.role == "library" and d.other.role == "library":
                continue
            at = _where(ev)
            other = d.other
            emit("QH201", at.path, at.line,
                 f"{behave} raises AmbiguousStep while loading steps: {_describe(ev)} is "
                 f"already matched by {_describe(other)} at {other.unit}:{other.step.line}"
                 + (f" (registered by {ev.unit})" if ev.role == "library" else ""),
                 "delete one definition, make the patterns distinct, or register the more "
                 "specific one first (stacked decorators register bottom-up)",
                 related=[Location(other.unit, other.step.line)],
                 data={"behave": report.behave_version, "pattern": ev.step.pattern,
                       "location": f"{ev.unit}:{ev.step.location_line}",
                       "existing": f"{other.unit}:{other.step.location_line}"})
        elif d.status == "bad" and ev.role != "library":
            if d.stops:
                effect = f"{behave} stops while loading steps"
            else:
                effect = f"{behave} skips this definition, so steps meant for it are undefined"
            emit("QH203", ev.unit, ev.step.line,
                 f"{_describe(ev)} does not compile: {d.error}; {effect}",
                 "fix the pattern (or register the custom type it uses before it)",
                 severity=Severity.ERROR if d.stops else Severity.WARNING,
                 data={"behave": report.behave_version, "error": d.error,
                       "location": f"{ev.unit}:{ev.step.location_line}"})
    if not report.usage_known:
        _why_no_usage(ctx, report.feature_files, report.feature_errors,
                      report.dynamic_templates)
        return
    for d in report.definitions:
        ev = d.event
        if (d.status != "registered" or d.used or d.uncertain or ev.role == "library"):
            continue
        emit("QH202", ev.unit, ev.step.line,
             f"no step in {report.feature_files} feature file(s) nor any execute_steps text "
             f"uses {_describe(ev)} ({behave}'s matching)",
             "delete the definition, or add the scenario that needs it",
             data={"behave": report.behave_version, "pattern": ev.step.pattern,
                   "keyword": ev.step.keyword,
                   "location": f"{ev.unit}:{ev.step.location_line}"})


def _why_no_usage(ctx: RuleContext, features: int, errors: list[str],
                  dynamic: list[str]) -> None:
    if not features:
        ctx.notes.append("no feature files found: unused step definitions were not checked "
                         "(pass --features PATH)")
    elif errors:
        ctx.notes.append(f"{len(errors)} feature file(s) not parsed by behave ({errors[0]}): "
                         "unused step definitions were not checked")
    elif dynamic:
        ctx.notes.append(f"execute_steps text at {dynamic[0]} cannot be read statically: "
                         "unused step definitions were not checked")
