"""QH108: ``sys.path`` changed where the result depends on load order or working folder."""

from __future__ import annotations

from qhub.audit.facts import PathEdit
from qhub.audit.model import Severity
from qhub.audit.pathexpr import depends_on_cwd
from qhub.audit.rules.base import Emit, Rule, RuleContext

RULES = (
    Rule("QH108", "sys-path", Severity.WARNING,
         "sys.path is changed in a step module, or relative to the working folder."),
)

_FIX = ("make the helpers a package next to the steps (behave puts the steps and features "
        "folders on sys.path), or set PYTHONPATH, instead of changing sys.path at import time")


def check(ctx: RuleContext, emit: Emit) -> None:
    for unit in ctx.project_units():
        assert unit.facts is not None
        for action in unit.facts.actions:
            if not isinstance(action, PathEdit):
                continue
            if unit.roles == {"environment"}:
                if not depends_on_cwd(action):
                    continue
                why = ("its folder is relative to the working folder, so imports work only "
                       "when behave is started from one place")
            elif "environment" in unit.roles or "step" not in unit.roles:
                continue
            else:
                why = ("modules loaded before this file cannot import what it makes "
                       "importable, later ones depend on it: imports depend on behave's "
                       "load order")
            emit("QH108", unit.display, action.line, f"{action.text}: {why}", _FIX)
