"""Ambiguous and unused step definitions, decided with behave's own matchers and parser."""

from __future__ import annotations

from pathlib import Path

from qhub.imports.steps_check import (
    Definition,
    StepUse,
    compile_definitions,
    executed_step_uses,
    feature_steps,
    find_ambiguous,
    find_unused,
)


def defs(*items: tuple[str, str, str]) -> list[Definition]:
    return compile_definitions(
        Definition("s.py", i + 1, kw, pattern, matcher) for i, (kw, pattern, matcher) in
        enumerate(items)
    )


class TestAmbiguous:
    """Same rule as behave's StepRegistry.add_step_definition."""

    def test_pattern_text_matched_by_earlier_definition(self) -> None:
        d = defs(("given", "I have {n:d} apples", "parse"),
                 ("given", "I have 3 apples", "parse"),
                 ("given", "I have {count:d} apples", "parse"),
                 ("when", "I have 3 apples", "parse"),
                 ("step", "I have 3 apples", "parse"))
        pairs = [(new.line, old.line) for new, old in find_ambiguous(d)]
        # {count:d} is not digits, so behave accepts it; other step types do not clash
        assert pairs == [(2, 1)]

    def test_regex_and_exact(self) -> None:
        d = defs(("then", r"the (?P<x>\w+) is red", "re"),
                 ("then", "the car is red", "parse"),
                 ("then", "x {a:Unknown}", "parse"),
                 ("then", "x {a:Unknown}", "parse"))
        assert [(n.line, o.line) for n, o in find_ambiguous(d)] == [(2, 1), (4, 3)]
        assert d[2].matcher is None  # custom type registered at run time: exact match only


class TestUnused:
    """A definition is used when any feature step (or execute_steps text) matches it."""

    def test_features_outline_background_and_step_keyword(self, tmp_path: Path) -> None:
        f = tmp_path / "x.feature"
        f.write_text("""Feature: x
  Background:
    Given a base
  Scenario Outline: o
    When I add <n>
    Then total is <n>
    And anything goes
    Examples:
      | n |
      | 2 |
""")
        uses, problems = feature_steps([f])
        assert problems == []
        d = defs(("given", "a base", "parse"), ("when", "I add {n:d}", "parse"),
                 ("then", "total is {n:d}", "parse"), ("step", "anything goes", "parse"),
                 ("then", "never used", "parse"), ("when", "called {x}", "parse"))
        uses.extend(executed_step_uses(['When called from code\n']))
        assert [x.pattern for x in find_unused(d, uses)] == ["never used"]

    def test_broken_feature_is_reported_not_fatal(self, tmp_path: Path) -> None:
        f = tmp_path / "bad.feature"
        f.write_text("Feature: x\n  Scenario: s\n    Given a\n  Examples: oops\n")
        _uses, problems = feature_steps([f])
        assert len(problems) == 1 and "not parsed" in problems[0]

    def test_executed_steps_keywords(self) -> None:
        assert [(u.step_type, u.text) for u in executed_step_uses(
            ["Given a\nAnd b\nThen c\nBut d\nnoise"])] == [
            ("given", "a"), ("given", "b"), ("then", "c"), ("then", "d")]
        assert StepUse("given", "a") == StepUse("given", "a")
