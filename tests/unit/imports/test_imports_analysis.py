"""Static facts read from source with ast: bindings, uses, scopes, steps, suppressions."""

from __future__ import annotations

import ast
import textwrap

from qhub.imports.analysis import FileFacts, analyse


def facts_of(src: str, matcher: str = "parse") -> FileFacts:
    text = textwrap.dedent(src)
    return analyse(ast.parse(text), text, matcher)


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
        assert set(f.uses["np"].owners) == {6, 9}  # nested function counts for its outer def
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
            import deco, dflt, ann
            @deco.wrap
            def f(x: ann.T = dflt.VALUE):
                pass
        """)
        assert f.uses["deco"].module_lines and f.uses["dflt"].module_lines
        assert f.uses["ann"].module_lines

    def test_scopes_loops_guards_type_checking(self) -> None:
        f = facts_of("""
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import pandas
            try:
                import yaml
            except ImportError:
                yaml = None
            def f():
                for _ in range(3):
                    import re
        """)
        by = {s.module: s for s in f.imports}
        assert by["pandas"].type_checking and by["pandas"].module_level
        assert by["yaml"].guarded and not by["yaml"].top_stmt
        assert by["re"].in_loop and not by["re"].module_level and by["re"].owner == 9

    def test_module_level_calls_recorded(self) -> None:
        f = facts_of("""
            def helper():
                return 1
            X = helper()
            @deco.wrap(thing())
            def g():
                other()
        """)
        assert f.module_calls == {"helper", "deco", "thing"}

    def test_all_counts_as_use_and_future_is_ignored(self) -> None:
        f = facts_of("""
            from __future__ import annotations
            from helpers import exported
            __all__ = ["exported"]
        """)
        assert [s.module for s in f.imports] == ["helpers"]
        assert f.uses["exported"].used

    def test_relative_and_star(self) -> None:
        f = facts_of("from . import common\nfrom ..pkg import *\n")
        assert [(s.module, s.level, s.star) for s in f.imports] == [
            (".", 1, False), ("..pkg", 2, True)]


class TestSteps:
    """Step definitions via decorators, registry helpers, and the matcher in force."""

    def test_decorators_matcher_and_registry(self) -> None:
        f = facts_of("""
            from behave import given, step
            import behave
            @given("a {thing}")
            def a(context, thing): pass
            use_step_matcher("re")
            @behave.when("I (?P<x>\\\\d+)")
            def b(context, x): pass
            @step("any")
            def c(context): pass
            registry.add_step_definition("then", "done", c)
        """)
        got = [(s.keyword, s.pattern, s.matcher, s.line) for s in f.steps]
        assert got == [("given", "a {thing}", "parse", 4), ("when", "I (?P<x>\\d+)", "re", 7),
                       ("step", "any", "re", 9), ("then", "done", "re", 11)]
        assert f.functions[5].steps == ["Given a {thing}"]
        assert f.final_matcher == "re"

    def test_execute_steps_text_recorded(self) -> None:
        f = facts_of('''
            def s(context):
                context.execute_steps("""
                    Given a thing
                """)
        ''')
        assert "Given a thing" in f.executed_steps[0]


class TestOther:
    """sys.path changes, reloads and suppression comments."""

    def test_sys_path_and_reimports(self) -> None:
        f = facts_of("""
            import sys, importlib, site
            sys.path.insert(0, "x")
            sys.path += ["y"]
            site.addsitedir("z")
            importlib.reload(sys)
            for n in ["a"]:
                importlib.import_module(n)
        """)
        assert [line for line, _ in f.sys_path] == [3, 4, 5]
        assert [line for line, _ in f.reimports] == [6, 8]

    def test_suppression_tokens(self) -> None:
        f = facts_of("""
            import a  # qhub: ignore[QH103, heavy-import]
            import b  # qhub: ignore
            s = "# qhub: ignore[QH1] inside a string is not a comment"
        """)
        assert f.suppress == {2: {"QH103", "heavy-import"}, 3: {"*"}}
