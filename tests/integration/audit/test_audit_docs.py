"""Every rule in docs/audit.md has a section, and each example there triggers its rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qhub.audit import RULES, run_audit

DOC = Path(__file__).resolve().parents[3] / "docs" / "audit.md"
SECTION = re.compile(r"^### (QH\d{3}) ([a-z-]+)\n(.*?)(?=^### |^## )", re.M | re.S)
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples() -> dict[str, tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    return {m.group(1): (m.group(2), m.group(3)) for m in SECTION.finditer(text)}


def test_every_rule_documented() -> None:
    sections = _examples()
    assert {rid: name for rid, (name, _) in sections.items()} == {r.id: r.name for r in RULES}


def _files(body: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for block in BLOCK.findall(body):
        current = None
        for line in block.splitlines(keepends=True):
            if line.startswith("# file: "):
                current = line[len("# file: "):].strip()
                files[current] = ""
            elif current is not None:
                files[current] += line
    return files


WITH_EXAMPLE = [rid for rid, (_, body) in _examples().items() if _files(body)]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("doc-cache")


@pytest.mark.parametrize("rule_id", WITH_EXAMPLE)
def test_example_triggers_rule(rule_id: str, tmp_path: Path, cache: Path) -> None:
    _name, body = _examples()[rule_id]
    for rel, text in _files(body).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "x.feature").write_text(
        "Feature: x\n  Scenario: s\n    Given a fake name\n")
    result = run_audit([], root=tmp_path, select=[rule_id], heavy_threshold_ms=1,
                       min_cost_ms=0.5, cache_dir=cache, repeat=1, progress=False)
    assert [f.rule for f in result.findings if f.rule == rule_id], result.findings
    assert {f.rule for f in result.findings} == {rule_id}


def test_most_rules_have_runnable_examples() -> None:
    assert len(WITH_EXAMPLE) >= len(RULES) - 3  # QH002/QH003/QH005 are described only
