"""The audit's field corpus (``tests/fixtures/audit/suites``), audited for real.

Every suite is copied to a temporary folder before use (tests never write in the
checkout). The planted "installed" modules of ``tests/fixtures/audit/site`` (they sleep at
import) are copied once per session and put on ``PYTHONPATH``, as an installed package
would be. Import-time measurements are cached in one temporary folder per session.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qhub.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"
SUITES = FIXTURES / "suites"
ORACLE = FIXTURES / "behave_oracle.py"


def behave_series() -> str:
    """``1.2`` or ``1.3``: the behave of this interpreter (the audit's target)."""
    import behave

    major, minor = behave.__version__.split(".")[:2]
    return f"{major}.{minor}"


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SUITES / name / "expected.json").read_text())
    return data


def expected_findings(name: str) -> set[tuple[str, int, str]]:
    data = expected(name)
    rows = data.get(f"findings_{behave_series()}", data.get("findings", []))
    return {(p, int(line), rule) for p, line, rule in rows}


@dataclass
class Corpus:
    """The corpus' expectations, for test modules (conftest is not importable by name)."""

    series: str
    """behave series of this interpreter: ``1.2`` or ``1.3``."""

    @staticmethod
    def expected(name: str) -> dict[str, Any]:
        return expected(name)

    def findings(self, name: str) -> set[tuple[str, int, str]]:
        return expected_findings(name)

    def behave_fails(self, name: str) -> bool:
        return bool(expected(name).get(f"behave_fails_{self.series}"))


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus(behave_series())


@dataclass
class Audited:
    """One CLI run of ``qhub audit``."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    @property
    def findings(self) -> set[tuple[str, int, str]]:
        return {(f["path"], f["line"], f["rule"]) for f in self.report["findings"]}


@pytest.fixture(scope="session")
def audit_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted installed modules, copied out of the checkout."""
    site = tmp_path_factory.mktemp("audit-site") / "site"
    shutil.copytree(FIXTURES / "site", site)
    return site


@pytest.fixture(scope="session")
def audit_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One import-time cache for the whole session (never inside the checkout)."""
    return tmp_path_factory.mktemp("audit-cache")


@pytest.fixture
def audit_env(audit_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PYTHONPATH holds the planted site (the audit's interpreter probe reads it)."""
    monkeypatch.setenv("PYTHONPATH", str(audit_site))
    return audit_site


@pytest.fixture
def copy_suite(tmp_path: Path) -> Callable[[str], Path]:
    """``copy_suite(name)``: a fresh copy of a fixture suite in this test's tmp_path."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(SUITES / name, target, ignore=shutil.ignore_patterns("expected.json"))
        return target

    return copy


@pytest.fixture
def run_audit_cli(
    audit_env: Path, audit_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Audited]:
    """``run_audit_cli(project, *args)``: ``qhub audit`` in-process, in ``project``."""

    def run(project: Path, *args: str, cache: bool = True) -> Audited:
        monkeypatch.chdir(project)
        argv = ["audit", "--repeat", "1", "--no-progress", *args]
        if cache and "--cache-dir" not in args and "--no-cache" not in args:
            argv += ["--cache-dir", str(audit_cache)]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
        return Audited(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def audit_suite(
    copy_suite: Callable[[str], Path], run_audit_cli: Callable[..., Audited]
) -> Callable[..., tuple[Path, Audited]]:
    """``audit_suite(name, *extra)``: copy a suite and audit it with its expected args."""

    def run(name: str, *extra: str) -> tuple[Path, Audited]:
        project = copy_suite(name)
        data = expected(name)
        result = run_audit_cli(project, *data.get("paths", []), *data["args"], "--format",
                               "json", *extra)
        return project, result

    return run


@pytest.fixture
def behave_oracle(audit_site: Path, tmp_path: Path) -> Iterator[Callable[[Path], dict[str, Any]]]:
    """``behave_oracle(project)``: real behave (this interpreter's) on a *copy* of
    ``project``: the AmbiguousStep errors its registry raises, the definitions its dry run
    matched, and its ``steps.usage`` report (see ``tests/fixtures/audit/behave_oracle.py``)."""
    counter = iter(range(1000))

    def run(project: Path) -> dict[str, Any]:
        copy = tmp_path / f"oracle-{next(counter)}" / project.name
        shutil.copytree(project, copy)
        out = copy.parent / "oracle.json"
        env = {**os.environ, "PYTHONPATH": str(audit_site)}
        args = expected(project.name).get("paths", [])
        proc = subprocess.run([sys.executable, str(ORACLE), str(out), *args], cwd=copy,
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        if not out.exists():
            return {"failed": True, "stderr": proc.stderr[-2000:]}
        data: dict[str, Any] = json.loads(out.read_text())
        data["root"] = str(copy)  # behave's relative paths start here
        return data

    yield run
