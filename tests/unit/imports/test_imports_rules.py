"""Rule selection, suppression matching and severities."""

from __future__ import annotations

import pytest

from qhub.exceptions import AuditError
from qhub.imports import rules
from qhub.imports.model import Severity


class TestSelection:
    """--select/--ignore accept ids, prefixes and names."""

    def test_default_is_all(self) -> None:
        assert rules.selection(None, None) == {r.id for r in rules.RULES}

    def test_prefix_name_and_commas(self) -> None:
        assert rules.selection(["QH2"], None) == {"QH201", "QH202"}
        assert rules.selection(["unused-import,QH001"], None) == {"QH103", "QH001"}
        assert rules.selection(None, ["QH1", "QH0"]) == {"QH201", "QH202"}

    def test_unknown_rule_is_an_audit_error(self) -> None:
        with pytest.raises(AuditError, match="unknown rule 'QH9'"):
            rules.selection(["QH9"], None)

    def test_ids_and_names_unique(self) -> None:
        assert len(rules.BY_ID) == len(rules.BY_NAME) == len(rules.RULES)


class TestSuppression:
    """`# qhub: ignore[...]` tokens."""

    @pytest.mark.parametrize(("tokens", "silenced"), [
        ({"*"}, True), ({"QH101"}, True), ({"heavy-import"}, True), ({"QH1"}, True),
        ({"QH102"}, False), ({"unused-import"}, False),
    ])
    def test_tokens(self, tokens: set[str], silenced: bool) -> None:
        assert rules.suppressed_by("QH101", tokens) is silenced


class TestSeverity:
    """Severities order and parse."""

    def test_parse_and_order(self) -> None:
        assert Severity.parse("Warning") is Severity.WARNING
        assert Severity.INFO < Severity.WARNING < Severity.ERROR
        with pytest.raises(ValueError, match="allowed: info, warning, error"):
            Severity.parse("fatal")
