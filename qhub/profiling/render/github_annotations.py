"""GitHub Actions workflow commands: one annotation per regression, budget violation, warning.

``::error file=features/steps/login.py,line=12,title=qhub: slower::+210.0% ...`` shows on
the pull request's changed line. Values are escaped as the workflow-command syntax wants
(``%``, CR, LF; and ``:``/``,`` in properties), so no text from the suite can inject a
command of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qhub.profiling.identity import split_location
from qhub.profiling.render._fmt import KIND_LABELS, change_text, counts_line, short
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, message: str, location: str = "", title: str = "") -> str:
    """``::level file=..,line=..,title=..::message``, every value escaped."""
    props = []
    if location:
        file, line = split_location(location)
        if file and not file.startswith("<"):
            props.append(f"file={_prop(file)}")
            if line is not None:
                props.append(f"line={line}")
    if title:
        props.append(f"title={_prop(title)}")
    return (
        f"::{level} {','.join(props)}::{_data(short(message, 400))}"
        if props
        else (f"::{level}::{_data(short(message, 400))}")
    )


def render(report: Report, options: RenderOptions) -> str:
    verdict = report.verdict
    out = []
    for c in verdict.regressions:
        out.append(
            workflow_command(
                "error",
                f"{KIND_LABELS.get(c.kind, c.kind)} {c.name} got slower: {change_text(c)}"
                f" ({c.method}: {c.reason})",
                c.location,
                "qhub: performance regression",
            )
        )
    for v in verdict.budgets.violations:
        out.append(
            workflow_command(
                "warning",
                f"{v.name}: {v.budget} {v.value:.1f} {v.unit} > {v.limit:.1f}",
                v.location,
                "qhub: budget exceeded",
            )
        )
    for c in verdict.not_compared:
        if c.verdict == "gone" and c.kind == "step_definition":
            message = f"{c.name}: in the baseline, not run now (not compared)"
            out.append(workflow_command("notice", message, title="qhub: not compared"))
    for warning in verdict.warnings:
        out.append(workflow_command("warning", warning, title="qhub: comparison caveat"))
    out.append(workflow_command("notice", counts_line(verdict), title="qhub: performance verdict"))
    return "\n".join(out) + "\n"
