"""Static facts read with ast: bindings, uses, scopes, registrations, comments."""

from __future__ import annotations

import ast
import textwrap

from qhub.audit.facts import FileFacts, ImportSite, MatcherSet, PathEdit, StepDef, TypeReg
from qhub.audit.walker import analyse


def facts_of(src: str) -> FileFacts:
    text = textwrap.dedent(src)
    return analyse(ast.parse(text), text)


class TestImportsAndUses:
    """Where each module-level name is used decides unused / lazy candidates."""

    def test_owners_and_module_level_uses(self) -> None:
        f = facts_of("""
            import json, os
            import numpy as np
            X = os.sep

            def one(context):
                return np.array(json.dumps(1))

            def two(context):
                def inner():
                    return np.zeros(1)
                return inner
        """)
        assert f.uses["os"].module_lines == [4]
        assert f.uses["json"].owners == {6: 7}
        assert set(f.uses["np"].owners) == {6, 9}
        assert f.uses["np"].module_lines == []

    def test_shadowing_local_names_are_not_uses(self) -> None:
        f = facts_of("""
            import json
            def f(json):
                return json
            def g():
                json = 1
                return json
        """)
        assert not f.uses["json"].used

    def test_decorators_defaults_annotations_run_at_module_level(self) -> None:
        f = facts_of("""
            import deco, dflt, ann, jsonschema
            @deco.wrap
            def f(x: ann.T = dflt.VALUE, validator=jsonschema.Draft7Validator):
                pass
        """)
        assert all(f.uses[n].module_lines for n in ("deco", "dflt", "ann", "jsonschema"))

    def test_future_annotations_and_type_comments_only_keep_names(self) -> None:
        f = facts_of("""
            from __future__ import annotations
            from a import A
            from b import B
            from c import C
            def f(x: A) -> "C":
                # type: (B) -> None
                pass
        """)
        assert not f.uses["A"].used and not f.uses["B"].used
        assert {"A", "B", "C"} <= f.keep_names

    def test_guards_conditions_loops_type_checking(self) -> None:
        f = facts_of("""
            from typing import TYPE_CHECKING
            try:
                import ujson
            except ImportError:
                ujson = None
            if TYPE_CHECKING:
                import typed
            if True:
                import cond
            for _ in range(2):
                import looped
        """)
        by = {s.module: s for s in f.imports}
        assert by["ujson"].guarded and by["ujson"].conditional
        assert by["typed"].type_checking and by["typed"] not in f.actions
        assert by["cond"].conditional and not by["cond"].guarded
        assert by["looped"].in_loop

    def test_noqa_and_all(self) -> None:
        f = facts_of("""
            import a  # noqa: F401
            import b  # noqa
            import c
            __all__ = ["c"]
        """)
        assert f.noqa_codes(2) == {"F401"} and f.noqa_codes(3) == {"*"}
        assert f.all_names == {"c"} and f.uses["c"].used

    def test_from_import_forms(self) -> None:
        f = facts_of("from selenium.webdriver import Chrome, Firefox as FF\nimport a.b.c\n")
        assert [s.form for s in f.imports] == [
            "from selenium.webdriver import Chrome, Firefox", "import a.b.c"]


class TestRegistrations:
    """Step definitions, matchers and types, in behave's registration order."""

    def test_stacked_decorators_register_bottom_up(self) -> None:
        f = facts_of("""
            from behave import when

            @when("I read {what}")
            @when("I read {what} with {token} token")
            def step(context, what, token=None):
                pass
        """)
        assert [(s.pattern, s.line, s.location_line) for s in f.steps] == [
            ("I read {what} with {token} token", 5, 4), ("I read {what}", 4, 4)]

    def test_keywords_constants_and_foreign_decorators(self) -> None:
        f = facts_of("""
            import behave
            from pytest_bdd import given
            PATTERN = "a {thing}"
            @behave.then(PATTERN)
            def a(context, thing): pass
            @given("not behave's")
            def b(): pass
            @Step("anything")
            def c(context): pass
            @when(f"dynamic {1}")
            def d(context): pass
        """)
        assert [(s.keyword, s.pattern) for s in f.steps] == [
            ("then", "a {thing}"), ("step", "anything"), ("when", None)]

    def test_matchers_types_and_path_edits_in_order(self) -> None:
        f = facts_of("""
            import sys, parse
            from behave import register_type, use_step_matcher
            from parse_type import TypeBuilder
            from elsewhere import conv
            sys.path.insert(0, "lib")
            use_step_matcher("re")

            @parse.with_pattern(r"\\d+")
            def number(text): return int(text)

            def plain(text): return text

            register_type(Number=number, Plain=plain, Int=int, Ref=conv,
                          YesNo=TypeBuilder.make_enum({"yes": 1, "no": 0}), Odd=conv())
            use_step_matcher_for_cucumber_expressions()
        """)
        kinds = [type(a).__name__ for a in f.actions if not isinstance(a, ImportSite)]
        assert kinds == ["PathEdit", "MatcherSet", "TypeReg", "MatcherSet"]
        reg = next(a for a in f.actions if isinstance(a, TypeReg))
        assert {n: s.kind for n, s in reg.types.items()} == {
            "Number": "pattern", "Plain": "plain", "Int": "builtin", "Ref": "ref",
            "YesNo": "enum", "Odd": "unknown"}
        assert reg.types["Number"].pattern == r"\d+"
        assert reg.types["Ref"].ref == "elsewhere:conv"
        matchers = [a.name for a in f.actions if isinstance(a, MatcherSet)]
        assert matchers == ["re", "cucumber_expressions"]
        edit = next(a for a in f.actions if isinstance(a, PathEdit))
        assert edit.op == "insert" and edit.line == 6

    def test_execute_steps_templates(self) -> None:
        f = facts_of("""
            def a(context, n):
                context.execute_steps(f"Given {n} apples")
            def b(context, steps):
                context.execute_steps(steps)
        """)
        assert [t.text for t in f.templates] == ["Given \x00 apples"]
        assert f.unresolved_templates == [5]

    def test_steps_label_functions(self) -> None:
        f = facts_of("""
            from behave import given
            @given("a customer")
            def step_customer(context):
                pass
        """)
        assert f.functions[4].steps == ["Given a customer"]
        assert all(isinstance(s, StepDef) for s in f.steps)
