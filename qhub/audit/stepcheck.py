"""Ask the target's behave which step definitions are ambiguous, broken or unused.

The registrations found by the load-order replay (:mod:`qhub.audit.loadorder`) are sent,
as data, to :mod:`qhub.audit.steporacle` running in the target interpreter; its answer is
what that behave version would do with them. Cached per interpreter, request and the
feature files' stamps.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qhub.audit.cache import JsonCache
from qhub.audit.interpreter import Interpreter, run_isolated
from qhub.audit.loadorder import StepEvent, Trace, TypeEvent
from qhub.audit.measure import Isolation
from qhub.exceptions import AuditError

_SCRIPT = Path(__file__).with_name("steporacle.py")


@dataclass
class DefinitionStatus:
    """What behave does with one registration."""

    event: StepEvent
    status: str
    """``registered``, ``same`` (a re-registration behave ignores), ``ambiguous``, ``bad``
    or ``unknown`` (the audit cannot tell)."""
    other: StepEvent | None = None
    """The earlier definition (ambiguous, same)."""
    certain: bool = True
    error: str | None = None
    stops: bool = False
    """A bad pattern stops behave (1.2.x, or a constructor error)."""
    used: bool = False
    uncertain: bool = False
    why: str | None = None


@dataclass
class StepReport:
    """The oracle's answer."""

    behave_version: str
    definitions: list[DefinitionStatus] = field(default_factory=list)
    feature_files: int = 0
    feature_errors: list[str] = field(default_factory=list)
    dynamic_templates: list[str] = field(default_factory=list)
    """``file:line`` of execute_steps texts whose steps the audit cannot read."""

    @property
    def usage_known(self) -> bool:
        """Whether "unused" can be claimed at all."""
        return bool(self.feature_files) and not self.feature_errors and not (
            self.dynamic_templates)


def check(
    trace: Trace,
    interp: Interpreter,
    iso: Isolation,
    *,
    features: list[Path],
    lang: str | None,
    cache: JsonCache,
    timeout_s: float = 120.0,
) -> StepReport:
    """Run the oracle for ``trace``'s registrations (see the module docstring)."""
    events: list[dict[str, Any]] = []
    steps: dict[int, StepEvent] = {}
    for ev in trace.registry:
        if isinstance(ev, TypeEvent):
            events.append({
                "op": "type", "matcher": ev.matcher, "dynamic": ev.reg.dynamic,
                "cucumber": ev.reg.cucumber,
                "types": {name: {"kind": spec.kind, "pattern": spec.pattern,
                                 "builtin": spec.builtin, "choices": list(spec.choices),
                                 "case_sensitive": spec.case_sensitive}
                          for name, spec in ev.reg.types.items()},
            })
        else:
            ident = len(steps)
            steps[ident] = ev
            events.append({
                "op": "step", "id": ident, "keyword": ev.step.keyword,
                "pattern": ev.step.pattern, "matcher": ev.matcher,
                "loc": [ev.unit, ev.step.location_line],
            })
    templates: list[dict[str, Any]] = []
    dynamic: list[str] = []
    for unit in trace.units.values():
        if unit.facts is None or unit.role == "library":
            continue
        templates.extend({"line": f"{unit.display}:{t.line}", "text": t.text}
                         for t in unit.facts.templates)
        dynamic.extend(f"{unit.display}:{line}" for line in unit.facts.unresolved_templates)
    request = {"events": events, "features": [str(p) for p in features], "lang": lang,
               "templates": templates}
    stamps = [[str(p), *_stamp(p)] for p in features]
    key = cache.key("steps", interp.executable, interp.behave_version, request, stamps)
    hit = cache.get(key)
    answer = hit.get("answer") if hit is not None else None
    if isinstance(answer, dict):
        try:
            return _report(answer, steps, len(features), dynamic)
        except (TypeError, ValueError, AttributeError, KeyError):
            pass  # a damaged cache entry is a miss
    answer = _run(interp, iso, request, timeout_s)
    cache.put(key, {"answer": answer})
    return _report(answer, steps, len(features), dynamic)


def _stamp(path: Path) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return [0, 0]
    return [st.st_mtime_ns, st.st_size]


def _run(interp: Interpreter, iso: Isolation, request: dict[str, Any],
         timeout_s: float) -> dict[str, Any]:
    request_file = Path(iso.cwd) / "steps-request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    source = _SCRIPT.read_text(encoding="utf-8")
    code = (f"exec(compile({source!r}, 'steporacle.py', 'exec'), "
            "{'_req': _req, '__name__': '__main__'})")
    try:
        proc = run_isolated(interp.executable, code, iso.request(file=str(request_file)),
                            cwd=iso.cwd, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise AuditError(f"behave's step check did not finish within {timeout_s:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run {interp.executable}: {exc.strerror or exc}") from None
    finally:
        request_file.unlink(missing_ok=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AuditError(f"behave's step check failed in {interp.executable}: {last[:300]}")
    try:
        answer = json.loads(lines[-1])
    except ValueError:
        raise AuditError("behave's step check gave an unreadable answer") from None
    if not isinstance(answer, dict):
        raise AuditError("behave's step check gave an unreadable answer")
    return answer


def _report(answer: dict[str, Any], steps: dict[int, StepEvent], n_features: int,
            dynamic: list[str]) -> StepReport:
    report = StepReport(
        behave_version=str(answer.get("behave", "?")), feature_files=n_features,
        feature_errors=[str(e) for e in answer.get("feature_errors", [])],
        dynamic_templates=[*dynamic, *(str(d) for d in answer.get("dynamic_templates", []))],
    )
    used = {int(i) for i in answer.get("used", [])}
    uncertain = {int(i) for i in answer.get("uncertain", [])}
    status = answer.get("status", {})
    for ident, event in steps.items():
        item = status.get(str(ident), {}) if isinstance(status, dict) else {}
        other = item.get("of")
        report.definitions.append(DefinitionStatus(
            event=event, status=str(item.get("status", "unknown")),
            other=steps.get(int(other)) if isinstance(other, int) else None,
            certain=bool(item.get("certain", True)), error=item.get("error"),
            stops=bool(item.get("stops", False)), used=ident in used,
            uncertain=ident in uncertain, why=item.get("why"),
        ))
    return report
