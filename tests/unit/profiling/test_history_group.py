"""``--group``: every run of a pipeline as one run view (report and check)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from qhub.cli import main
from qhub.profiling.history.group import load_group
from qhub.profiling.history.sqlite import SQLiteHistory


@pytest.fixture
def history_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.db"
    monkeypatch.setenv("QHUB_PROFILING_HISTORY_DB", str(path))
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "QHUB_PIPELINE_ID"):
        monkeypatch.delenv(name, raising=False)
    return path


def shard_part(make: Any, run_id: str, part: str, *, pipeline: str, shard: str | None,
               wall: float, start: float, scenario: str) -> Any:  # fmt: skip
    record = make(run_id, part)
    scenarios = tuple(
        dataclasses.replace(s, key=f"features/{scenario}.feature::s") for s in record.scenarios
    )
    run = dataclasses.replace(
        record.run, pipeline=pipeline, shard=shard, wall_ms=wall, start_epoch_ms=start
    )
    return dataclasses.replace(record, run=run, scenarios=scenarios)


def test_group_merges_shards_and_separate_jobs(history_path: Path, record_factory: Any) -> None:
    with SQLiteHistory(history_path) as history:
        history.add_part(shard_part(record_factory, "pipe", "a", pipeline="pipe", shard="1/2",
                                    wall=500.0, start=0.0, scenario="x"))  # fmt: skip
        history.add_part(shard_part(record_factory, "pipe", "b", pipeline="pipe", shard="2/2",
                                    wall=300.0, start=9000.0, scenario="y"))  # fmt: skip
        history.add_part(shard_part(record_factory, "job-3", "c", pipeline="pipe", shard=None,
                                    wall=700.0, start=100.0, scenario="z"))  # fmt: skip
        history.add_part(shard_part(record_factory, "other", "d", pipeline="elsewhere",
                                    shard=None, wall=1.0, start=0.0, scenario="w"))  # fmt: skip
        merged = load_group(history, "pipe")
    assert merged.run.id == "pipe"
    assert sorted(s.key for s in merged.scenarios) == [
        "features/x.feature::s", "features/y.feature::s", "features/z.feature::s"
    ]  # fmt: skip
    assert merged.run.wall_ms == 700.0  # the slowest lane: the separate job
    assert merged.totals.scenarios == 3  # one scenario in each part


def test_report_and_check_group_cli(
    history_path: Path, record_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with SQLiteHistory(history_path) as history:
        for n, shard in enumerate(("1/2", "2/2")):
            history.add_part(shard_part(record_factory, "gitlab:9-77", f"p{n}",
                                        pipeline="gitlab:9-77", shard=shard, wall=100.0,
                                        start=0.0, scenario=f"s{n}"))  # fmt: skip
    assert (
        main(["report", "--group", "gitlab:9-77", "--format", "json", "--dir", str(tmp_path)]) == 0
    )
    doc = json.loads((tmp_path / "qhub-report.json").read_text(encoding="utf-8"))
    assert doc["run"]["id"] == "gitlab:9-77" and len(doc["scenarios"]) == 2
    capsys.readouterr()
    assert main(["check", "--group"]) == 2
    assert "--group without an ID needs a CI pipeline" in capsys.readouterr().err
    monkeypatch.setenv("CI_PROJECT_ID", "9")
    monkeypatch.setenv("CI_PIPELINE_ID", "77")
    assert main(["check", "--group"]) == 0
    assert "qhub check: run gitlab:9-77" in capsys.readouterr().out
    assert main(["report", "--group", "nope"]) == 2
    assert "no runs of group 'nope'" in capsys.readouterr().err
