"""Rule selection and inline suppression; one family module per rule family."""

from __future__ import annotations

import pytest

from qhub.audit import rules
from qhub.audit.model import Severity
from qhub.exceptions import AuditError


def test_selection() -> None:
    assert rules.selection(None, None) == set(rules.BY_ID)
    assert rules.selection(["QH1,ambiguous-step"], ["QH103"]) == (
        {r for r in rules.BY_ID if r.startswith("QH1")} - {"QH103"}) | {"QH201"}
    with pytest.raises(AuditError, match="unknown rule 'QH9'"):
        rules.selection(["QH9"], None)


def test_ids_names_unique_and_every_rule_prioritised() -> None:
    assert len(rules.BY_ID) == len(rules.RULES) == len(rules.BY_NAME)
    assert set(rules.PRIORITY) == set(rules.BY_ID)
    for family in rules.FAMILIES:
        assert family.RULES and callable(family.check)


@pytest.mark.parametrize(("tokens", "silenced"), [
    ({"*"}, True), ({"QH1"}, True), ({"heavy-import"}, True), ({"QH2"}, False),
])
def test_suppression(tokens: set[str], silenced: bool) -> None:
    assert rules.suppressed_by("QH101", tokens) is silenced


def test_severity_parse() -> None:
    assert Severity.parse(" Warning ") is Severity.WARNING
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("fatal")
