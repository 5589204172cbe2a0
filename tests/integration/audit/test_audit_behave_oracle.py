"""behave is the oracle: QH201/QH202 agree with what this interpreter's behave does.

For every corpus suite, real behave runs on a copy (``--dry-run -f steps.usage``, its
registry wrapped to record every ``AmbiguousStep`` instead of stopping at the first, and
its ``find_match`` to record which definitions the dry run matched). The audit must agree:

- QH201 = the definitions behave's registry rejects with ``AmbiguousStep``;
- QH202 = the definitions the dry run never matched, except those used only through
  ``context.execute_steps`` (a dry run does not run step code) and those the audit cannot
  read (custom converters it cannot see);
- compared with ``steps.usage`` too, which (behave 1.3) also leaves out steps of a Rule's
  Background - a formatter limitation; the dry run itself runs them.

Marked ``behave_matrix``: ``.ci/run`` repeats it under behave 1.2.6.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "audit" / "suites"
NAMES = sorted(p.name for p in SUITES.iterdir() if (p / "expected.json").is_file())


def _local(location: str, root: Path) -> str:
    """``path:line`` relative to ``root`` (absolute when outside), as the audit shows it."""
    path, _, line = location.rpartition(":")
    full = os.path.normpath(os.path.join(root, path))
    shown = os.path.relpath(full, root) if full.startswith(str(root) + os.sep) else full
    return f"{shown.replace(os.sep, '/')}:{line}"


def _defs(entries: list[str], root: Path) -> set[str]:
    """``location keyword pattern`` strings, locations made comparable, the project's
    only (stacked decorators share a location: the keyword tells them apart)."""
    out = set()
    for entry in entries:
        location, _, rest = entry.partition(" ")
        local = _local(location, root)
        if not local.startswith("/"):
            out.add(f"{local} {rest}")
    return out


@pytest.mark.behave_matrix
@pytest.mark.parametrize("name", NAMES)
def test_step_rules_agree_with_behave(
    name: str,
    audit_suite: Callable[..., Any],
    behave_oracle: Callable[[Path], dict[str, Any]],
    corpus: Any,
) -> None:
    project, result = audit_suite(name, "--select", "QH2")
    findings = result.report["findings"]
    ours_ambiguous = {_local(f["data"]["location"], project) for f in findings
                      if f["rule"] == "QH201"}
    ours_unused = {f"{f['data']['location']} {f['data']['keyword']} {f['data']['pattern']}"
                   for f in findings if f["rule"] == "QH202"}
    oracle = behave_oracle(project)
    if corpus.behave_fails(name):
        assert oracle.get("failed") or not oracle.get("matched"), oracle
        assert not ours_unused and not ours_ambiguous
        return
    assert not oracle.get("failed"), oracle.get("stderr")
    # The oracle's paths are relative to its copy (laid out like the project inside, but at
    # another depth, which matters for paths outside it such as an installed step library).
    copy = Path(oracle["root"])
    theirs_ambiguous = {_local(a["location"], copy) for a in oracle["ambiguous"]}
    assert ours_ambiguous == theirs_ambiguous

    spec = corpus.expected(name)
    exempt = set(spec.get("execute_steps_only", [])) | set(spec.get("uncertain", []))
    registered = _defs(oracle["registered"], copy)
    matched = _defs(oracle["matched"], copy)
    dry_unused = {d for d in registered - matched if _pattern(d) not in exempt}
    assert ours_unused == dry_unused

    usage_unused = {f"{_local(u['location'], copy)} {u['keyword']} {u['pattern']}"
                    for u in oracle["unused"]}
    usage_unused = {d for d in usage_unused if not d.startswith("/")}
    formatter_gap = set(spec.get("rule_background_only", [])) if corpus.series == "1.3" else set()
    assert ours_unused == {d for d in usage_unused if _pattern(d) not in exempt | formatter_gap}


def _pattern(entry: str) -> str:
    """The pattern of a ``location keyword pattern`` entry."""
    return entry.split(" ", 2)[2]
