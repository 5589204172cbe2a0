"""Real behave is the oracle: the shards ``qhub shard`` prints, each run by behave, together
run every scenario the unsharded run runs, each exactly once.

The fixture suite (``tests/fixtures/shard``) has a Background, tags on scenarios, examples
and features, Scenario Outlines with several Examples blocks, a nested folder, a feature
with a ``@setup`` scenario (which behave runs whenever any location of its file is
given), and, for behave 1.2.7+, ``Rule``s with their own Background. Its hooks log every
scenario that ran.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from qhub.cli import main
from tests.conftest import BEHAVE_HAS_RUNNER, run_behave

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shard"

pytestmark = pytest.mark.behave_matrix


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "suite", project)
    monkeypatch.chdir(project)
    for name in ("CI_NODE_TOTAL", "CI_NODE_INDEX", "QHUB_PROFILING_HISTORY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QHUB_PROFILING_HISTORY_DB", str(tmp_path / "none" / "history.db"))
    return project


def ran(project: Path, args: list[str], tmp_path: Path, name: str) -> Counter[str]:
    """Scenarios (file:line) that behave ran with ``args``, with how often."""
    log = tmp_path / f"{name}.log"
    log.touch()
    result = run_behave(project, "--format=null", *args, env={"SHARD_LOG": str(log)})
    assert result.returncode == 0, result.output[-2000:]
    return Counter(log.read_text(encoding="utf-8").split())


def shard_args(total: int, index: int, *more: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["shard", "--total", str(total), "--index", str(index), *more]) == 0
    return capsys.readouterr().out.split()


def check_union(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    total: int,
    *,
    options: list[str],
    selection: list[str],
) -> Counter[str]:
    """Each shard's run, added up, equals the unsharded run; nothing runs twice."""
    whole = ran(project, selection, tmp_path, "whole")
    assert whole and max(whole.values()) == 1
    union: Counter[str] = Counter()
    for index in range(1, total + 1):
        extra = ["--", *selection] if selection else []
        args = shard_args(total, index, *options, *extra, capsys=capsys)
        union += ran(project, [*selection, *args], tmp_path, f"shard{index}")
    assert union == whole
    return whole


def test_by_scenario_union_equals_unsharded(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = check_union(suite, tmp_path, capsys, 3, options=[], selection=[])
    assert sum(whole.values()) == 17


def test_by_feature_union_equals_unsharded(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check_union(suite, tmp_path, capsys, 2, options=["--by", "feature"], selection=[])


def test_tag_selection(suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Tags given to both (as docs/parallel.md says): the shards run exactly the selection."""
    whole = check_union(
        suite, tmp_path, capsys, 2, options=[], selection=["--tags=@smoke", "--tags=~@slow"]
    )
    assert 0 < sum(whole.values()) < 17


def test_more_shards_than_scenarios(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty shard runs nothing (never the whole suite)."""
    args = shard_args(30, 30, capsys=capsys)
    assert args == ["--include=^qhub-empty-shard$"]
    assert ran(suite, args, tmp_path, "empty") == Counter()


def test_failure_makes_behave_fail(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When qhub shard fails, what it printed stops behave instead of running everything."""
    assert main(["shard", "--total", "2", "--index", "3"]) == 2
    out = capsys.readouterr().out.split()
    result = run_behave(suite, *out, env={"SHARD_LOG": str(tmp_path / "x.log")})
    assert result.returncode != 0 and "qhub-shard-failed" in result.output


def test_list_file_output(suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--output FILE`` writes the locations for ``behave @FILE`` (paths relative to it)."""
    whole = ran(suite, [], tmp_path, "whole")
    union: Counter[str] = Counter()
    for index in (1, 2):
        listed = shard_args(2, index, "--output", f"lists/shard{index}.txt", capsys=capsys)
        assert listed == [f"@lists/shard{index}.txt"]
        union += ran(suite, listed, tmp_path, f"listed{index}")
    assert union == whole


@pytest.mark.skipif(not BEHAVE_HAS_RUNNER, reason="Rule needs behave 1.2.7+")
def test_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "rules"
    shutil.copytree(FIXTURES / "rules", project)
    monkeypatch.chdir(project)
    monkeypatch.setenv("QHUB_PROFILING_HISTORY_DB", str(tmp_path / "none" / "history.db"))
    whole = check_union(project, tmp_path, capsys, 4, options=[], selection=[])
    assert sum(whole.values()) == 6
