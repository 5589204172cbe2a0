"""execute_steps text read statically; run-time values become wildcards."""

from __future__ import annotations

import ast
import textwrap

import pytest

from qhub.audit.templates import WILDCARD, TemplateBuilder

W = WILDCARD


def build(expr: str, names: dict[str, str] | None = None) -> str | None:
    values = {k: [ast.parse(v, mode="eval").body] for k, v in (names or {}).items()}
    node = ast.parse(textwrap.dedent(expr), mode="eval").body
    template = TemplateBuilder(values.get).build(node, 1)
    return None if template is None else template.text


@pytest.mark.parametrize(("expr", "text"), [
    ('"Given a thing"', "Given a thing"),
    ('f"Given {n} apples and {m!r:>3}"', f"Given {W} apples and {W}"),
    ('"When I pay {} with {name}".format(a, name=b)', f"When I pay {W} with {W}"),
    ('"Then I see %s of %(x)d and 100%%" % v', f"Then I see {W} of {W} and 100%"),
    ('"Given " + "a thing"', "Given a thing"),
    ('textwrap.dedent("""\\n  Given x\\n""").strip()', "\n  Given x\n"),
    ('"\\n".join(["Given a", f"When {b}"])', f"Given a\nWhen {W}"),
    ("TEXT", "Given a constant"),
])
def test_understood(expr: str, text: str) -> None:
    assert build(expr, {"TEXT": '"Given a constant"'}) == text


@pytest.mark.parametrize("expr", ["steps", "make_steps()", '"a".upper()', "x[0]"])
def test_not_understood(expr: str) -> None:
    assert build(expr) is None


def test_alternative_values_all_kept() -> None:
    values = {"t": [ast.Constant("Given one"), ast.Constant("Given two")]}
    node = ast.parse("t", mode="eval").body
    template = TemplateBuilder(values.get).build(node, 1)
    assert template is not None and template.text == "Given one\nGiven two"
