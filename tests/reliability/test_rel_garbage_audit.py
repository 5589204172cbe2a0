"""Garbage and hostile input fed to ``qhub audit``: always a finding or one clean error line.

Issue 15, classes 3 (every wait bounded), 6 (invalid input refused at start-up) and 8
(atomic writes): FIFOs, devices, folders and symlink loops named ``*.py``, trees nested too
deep for Python's parser, random bytes and half-valid Python, numeric options out of
range, and ``--diff --write`` where it cannot write. Every audit here runs in a temporary
folder with its own import-time cache (never in the checkout).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
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
    st.builds(lambda p: f"@given({p!r})\ndef step_impl(context):\n    pass",
              st.sampled_from(["x", "{", "a {n:d}", "(", "a {n:Nope}", "", "{x}{y}"])),
    st.builds(lambda p: f"use_step_matcher('re')\n@when({p!r})\ndef s(context):\n    pass",
              st.sampled_from(["(", "a(b", "^x$", "[z-a]", "x"])),
    st.just("from . import sibling"),
    st.just("import sys\nsys.path.insert(0, compute())"),
    st.just("context.execute_steps(f'Given {x}')"),
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
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rel-audit-cache")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    yield


def _audit(cache: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", "--cache-dir", str(cache), "--repeat", "1", *args])
    return code, out.getvalue(), err.getvalue()


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _one_line_error(code: int, err: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qhub: error:"), err


def test_audit_reports_a_known_heavy_import(tmp_path: Path, cache: Path) -> None:
    """Sanity: a module-level heavy import used by one step is a finding (exit 1, JSON)."""
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "contract_steps.py").write_text(
        "import jsonschema\nfrom behave import then\n\n\n"
        "@then('it validates')\ndef step_impl(context):\n"
        "    jsonschema.validate({}, {})\n"
    )
    code, out, err = _audit(cache, "--format", "json", "--fail-on", "info", "--threshold-ms",
                            "5", str(steps))
    assert code == 1, (code, out, err)
    assert "jsonschema" in json.dumps(json.loads(out))


class TestAuditGarbage:
    """Random and half-broken Python in step files."""

    @SLOW
    @given(source=ANY_SOURCE, fmt=st.sampled_from(["text", "json", "sarif"]))
    def test_any_source(self, source: str, fmt: str, cache: Path) -> None:
        """Exit 0/1 with output in the asked format; valid Python is never refused."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "garbage_steps.py"
            path.write_text(source, encoding="utf-8", errors="surrogateescape")
            code, out, err = _audit(cache, "--format", fmt, str(path))
        assert code in (0, 1), err
        assert "Traceback" not in err
        if fmt != "text":
            json.loads(out)

    @SLOW
    @given(data=st.binary(max_size=200))
    def test_binary_file(self, data: bytes, cache: Path) -> None:
        """Arbitrary bytes: a finding, never a traceback or a refusal."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "binary_steps.py"
            path.write_bytes(data)
            code, _, err = _audit(cache, str(path))
        assert code in (0, 1), err


class TestSpecialFiles:
    """Files that are not Python files, under a behave steps folder."""

    @pytest.mark.timeout(60)
    def test_fifo_device_folder_loop_never_block(self, tmp_path: Path, cache: Path) -> None:
        steps = tmp_path / "features" / "steps"
        steps.mkdir(parents=True)
        os.mkfifo(steps / "x.py")
        (steps / "dir.py").mkdir()
        os.symlink("loop.py", steps / "loop.py")
        os.symlink("/dev/zero", steps / "zero.py")
        os.symlink("/nowhere/at/all.py", steps / "dangling.py")
        (steps / "ok_steps.py").write_text("import json\n")
        code, out, err = _audit(cache, "--format", "json")
        assert code == 1, err
        found = {(f["path"].rsplit("/", 1)[-1], f["rule"]) for f in json.loads(out)["findings"]}
        assert found == {("x.py", "QH002"), ("dir.py", "QH002"), ("loop.py", "QH002"),
                         ("zero.py", "QH002"), ("dangling.py", "QH002")}

    @pytest.mark.timeout(120)
    @pytest.mark.parametrize("source", [
        "x = " + "+".join(["1"] * 100_000) + "\n",
        "x = " + "[" * 150 + "]" * 150 + "\n",
        "x = " + "-" * 50_000 + "1\n",
        "def f():\n" + "".join("    " * i + "if x:\n" for i in range(1, 90))
        + "    " * 90 + "pass\n",
    ])
    def test_deep_trees_are_findings(self, tmp_path: Path, cache: Path, source: str) -> None:
        steps = tmp_path / "steps"
        steps.mkdir()
        (steps / "deep_steps.py").write_text(source)
        code, out, err = _audit(cache, "--format", "json", str(steps))
        assert code in (0, 1) and "RecursionError" not in out + err, err
        rules = {f["rule"] for f in json.loads(out)["findings"]}
        assert rules <= {"QH001", "QH005"}

    def test_huge_file_skipped(self, tmp_path: Path, cache: Path) -> None:
        steps = tmp_path / "steps"
        steps.mkdir()
        (steps / "big_steps.py").write_text(("# padding " + "x" * 90 + "\n") * 12_000)
        code, out, _err = _audit(cache, "--format", "json", str(steps))
        assert code == 0 and [f["rule"] for f in json.loads(out)["findings"]] == ["QH003"]


class TestBadOptionsAndWrites:
    """Numeric options range-checked at start-up; fixes written atomically or not at all."""

    @pytest.mark.parametrize("argv", [
        ["--threshold-ms", "-5"], ["--threshold-ms", "1e309"], ["--timeout", "-1"],
        ["--timeout", "nan"], ["--jobs", "100000"], ["--repeat", "-3"],
    ])
    def test_out_of_range_options(self, tmp_path: Path, cache: Path, argv: list[str]) -> None:
        (tmp_path / "steps").mkdir()
        _one_line_error(*_audit(cache, *argv, str(tmp_path / "steps"))[::2])

    def test_write_into_read_only_folder(self, tmp_path: Path, cache: Path) -> None:
        steps = tmp_path / "steps"
        steps.mkdir()
        target = steps / "s.py"
        source = ("import jsonschema\n\n\ndef step(context):\n"
                  "    return jsonschema.validate({}, {})\n")
        target.write_text(source)
        if os.geteuid() == 0:  # root writes anywhere: make the folder immutable instead
            pytest.importorskip("fcntl")
            proc = os.system(f"chattr +i {steps} 2>/dev/null")
            if proc != 0:
                pytest.skip("chattr is not available to make a folder read-only as root")
        else:
            steps.chmod(0o555)
        try:
            code, _out, err = _audit(cache, "--threshold-ms", "5", "--diff", "--write",
                                     str(steps))
        finally:
            if os.geteuid() == 0:
                os.system(f"chattr -i {steps}")
            steps.chmod(0o755)
        _one_line_error(code, err)
        assert "cannot write" in err and target.read_text() == source
        assert [p.name for p in steps.iterdir()] == ["s.py"]

    def test_missing_path(self, tmp_path: Path, cache: Path) -> None:
        code, _, err = _audit(cache, str(tmp_path / "nope"))
        _one_line_error(code, err)
        assert "nope" in err
