"""Garbage step files fed to ``qhub audit``: always a finding or one clean error line."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qhub.cli import main

MODULES = st.sampled_from([
    "os", "json", "decimal", "xml.dom.minidom", "email.mime.text", "jsonschema", "faker",
    "requests", "no_such_module_qhub_rel", "a.b.c", "_", "behave",
])
NAMES = st.sampled_from(["*", "x", "Faker", "then", "given", "validate", "sys"])
LINES = st.one_of(
    st.builds(lambda m: f"import {m}", MODULES),
    st.builds(lambda m, n: f"from {m} import {n}", MODULES, NAMES),
    st.builds(lambda m: f"def step(context):\n    import {m}\n    return {m.split('.')[0]}",
              MODULES),
    st.builds(lambda m: f"if False:\n    import {m}", MODULES),
    st.builds(lambda m: f"try:\n    import {m}\nexcept ImportError:\n    pass", MODULES),
    st.builds(lambda m: f"x = __import__({m!r})", MODULES),
    st.just("from . import sibling"),
    st.just("@given('x')\ndef step_impl(context):\n    pass"),
    st.just("import os, sys, json as j"),
)
VALID_SOURCE = st.lists(LINES, max_size=8).map("\n".join)
ANY_SOURCE = st.one_of(
    VALID_SOURCE,
    st.text(max_size=200),
    st.builds(lambda a, b: a[: len(a) // 2] + b, VALID_SOURCE, st.text(max_size=20)),
    st.sampled_from(["(" * 500, "import", "from x import (", "def f(:\n", "\x00import os",
                     "\ufeffimport os", "import os\r\nimport json\r", "# -*- coding: bogus -*-\n"]),
)
SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _audit(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", *args])
    return code, out.getvalue(), err.getvalue()


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def test_audit_reports_a_known_heavy_import(tmp_path: Path) -> None:
    """Sanity: a module-level heavy import used by one step is a finding (exit 1, JSON)."""
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "contract_steps.py").write_text(
        "import jsonschema\nfrom behave import then\n\n\n"
        "@then('it validates')\ndef step_impl(context):\n"
        "    jsonschema.validate({}, {})\n"
    )
    code, out, err = _audit("--format", "json", "--fail-on", "info", str(steps))
    assert code == 1, (code, out, err)
    assert "jsonschema" in json.dumps(json.loads(out))


class TestAuditGarbage:
    """Random and half-broken Python in step files."""

    @SLOW
    @given(source=ANY_SOURCE, fmt=st.sampled_from(["text", "json", "sarif"]))
    def test_any_source(self, source: str, fmt: str) -> None:
        """Exit 0/1 with output in the asked format, or exit 2 with one stderr line."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "garbage_steps.py"
            path.write_text(source, encoding="utf-8", errors="surrogateescape")
            code, out, err = _audit("--format", fmt, str(path))
        assert code in (0, 1, 2), code
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("qhub: error:"), err
            assert "garbage_steps.py" in lines[0], err
        elif fmt != "text":
            json.loads(out)
        if _is_python(source):
            assert code in (0, 1), f"valid Python was refused: {err}"

    @SLOW
    @given(data=st.binary(max_size=200))
    def test_binary_file(self, data: bytes) -> None:
        """Arbitrary bytes: a finding or one error line naming the file, never a traceback."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "binary_steps.py"
            path.write_bytes(data)
            code, _, err = _audit(str(path))
        assert code in (0, 1, 2)
        if code == 2:
            assert err.count("\n") == 1 and "binary_steps.py" in err, err

    def test_missing_path(self, tmp_path: Path) -> None:
        """A path that does not exist is a usage error naming it (exit 2)."""
        code, _, err = _audit(str(tmp_path / "nope"))
        assert code == 2
        assert err.startswith("qhub: error:") and "nope" in err and err.count("\n") == 1
