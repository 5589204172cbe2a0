"""A shard that cannot reach its pipeline's shared history stops (never guesses a split)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qhub.cli import main
from tests.conftest import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shard"


def test_unreachable_shared_history_stops_the_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(FIXTURES / "suite", tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    url = f"postgresql://qhub:Hidden-Pw-77@127.0.0.1:{free_port()}/qhub"
    monkeypatch.setenv("QHUB_PROFILING_HISTORY_URL", url)
    monkeypatch.setenv("QHUB_PROFILING_HISTORY_CONNECT_TIMEOUT_S", "2")
    monkeypatch.setenv("QHUB_PIPELINE_ID", "pipe-9")
    assert main(["shard", "--total", "2", "--index", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out.split() == ["--qhub-shard-failed"]
    assert "cannot plan shards of pipeline pipe-9" in captured.err
    assert "Hidden-Pw-77" not in captured.err and "<redacted>" in captured.err
    monkeypatch.delenv("QHUB_PIPELINE_ID")  # no pipeline: nothing to agree with, no history
    assert main(["shard", "--total", "2", "--index", "1"]) == 0
    assert capsys.readouterr().out.split()
