"""Run history: records, retention, baselines, concurrency, corruption."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from qhub.exceptions import HistoryCorruptError, ProfilerError
from qhub.profiling.baseline import Baseline, read_baseline, write_baseline
from qhub.profiling.history import History
from qhub.profiling.merge import merge_documents


def doc(
    run_id: str,
    group: str | None = None,
    samples: list[float] | None = None,
    worker: str | None = None,
) -> dict[str, Any]:
    samples = samples or [1.0, 2.0, 3.0]
    return {
        "schema": "qhub.profile/1",
        "run": {
            "id": run_id,
            "group": group or run_id,
            "wall_ms": 100.0,
            "status": "passed",
            "worker_id": worker,
            "finished_at": "2026-01-01T00:00:00Z",
        },
        "totals": {
            "features": 1,
            "scenarios": 1,
            "steps": len(samples),
            "step_statuses": {"passed": len(samples)},
        },
        "attribution": {
            "wall_ms": 100.0,
            "parts_total_ms": 100.0,
            "measured_from": "x",
            "parts": [{"name": "step_bodies", "label": "s", "ms": sum(samples), "percent": 1.0}],
        },
        "step_definitions": [
            {
                "key": "steps/a.py:1",
                "pattern": "a",
                "step_type": "given",
                "statuses": {"passed": len(samples)},
                "count": len(samples),
                "total_ms": sum(samples),
                "mean_ms": sum(samples) / len(samples),
                "min_ms": min(samples),
                "p50_ms": 0.0,
                "p95_ms": 0.0,
                "max_ms": max(samples),
                "rss_delta_mb": 0.0,
                "tracemalloc_peak_kb": 0.0,
                "texts": [
                    {
                        "text": "Given a",
                        "count": len(samples),
                        "total_ms": sum(samples),
                        "mean_ms": 1.0,
                        "max_ms": max(samples),
                    }
                ],
                "samples_ms": samples,
            }
        ],
        "scenarios": [
            {
                "key": "f:1",
                "name": "s",
                "feature": "F",
                "status": "passed",
                "duration_ms": sum(samples),
                "hooks_ms": 0.0,
                "steps": 1,
                "rss_start_mb": 1.0,
                "rss_end_mb": 1.0,
                "rss_delta_mb": 0.0,
            }
        ],
        "features": [],
        "hooks": [
            {
                "hook": "after_step",
                "count": 3,
                "total_ms": 3.0,
                "mean_ms": 1.0,
                "max_ms": 1.0,
                "failed": 0,
            }
        ],
        "step_modules": [],
        "methods": [],
        "memory": {"enabled": False, "series": []},
        "stats": {},
    }


class TestHistory:
    """SQLite storage of run documents."""

    def test_record_and_load(self, tmp_path: Path) -> None:
        with History(tmp_path / "h.db") as h:
            h.record(doc("r1"))
            h.record(doc("r2"))
            assert [r["id"] for r in h.runs()] == ["r2", "r1"]
            assert h.load("r1")["run"]["id"] == "r1"
            assert h.latest_group() == "r2"
            with pytest.raises(ProfilerError, match="no run 'nope'"):
                h.load("nope")

    def test_retention_keeps_groups_and_pinned(self, tmp_path: Path) -> None:
        with History(tmp_path / "h.db", retention=3) as h:
            h.record(doc("old"))
            h.set_baseline(["old"])
            for i in range(6):
                h.record(doc(f"w{i}a", group=f"g{i}"))
                h.record(doc(f"w{i}b", group=f"g{i}"))
            ids = {r["id"] for r in h.runs()}
            assert ids == {"old", "w3a", "w3b", "w4a", "w4b", "w5a", "w5b"}
            assert [g["group"] for g in h.groups()][:3] == ["g5", "g4", "g3"]
            assert h.groups()[0]["workers"] == 2

    def test_baseline_set_show_clear(self, tmp_path: Path) -> None:
        with History(tmp_path / "h.db") as h:
            h.record(doc("r1"))
            with pytest.raises(ProfilerError, match="no run 'zz'"):
                h.set_baseline(["zz"])
            h.set_baseline(["r1"])
            assert h.baseline()["runs"] == ["r1"]
            assert h.clear_baseline() is True
            assert h.baseline() is None

    def test_corrupt_file_is_moved_aside(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        path.write_bytes(b"this is not sqlite at all" * 100)
        with pytest.raises(HistoryCorruptError, match="moved aside"):
            History(path)
        assert list(tmp_path.glob("h.db.corrupt-*"))
        with History(path) as h:  # a fresh database takes its place
            assert h.runs() == []

    def test_concurrent_writers(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        History(path).close()
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_writer, args=(str(path), w)) for w in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        with History(path) as h:
            assert len(h.runs()) == 40


def _writer(path: str, worker: int) -> None:
    with History(path) as h:
        for i in range(10):
            h.record(doc(f"w{worker}-{i}", group="shared", worker=str(worker)))


class TestBaselineFile:
    """JSON export/import."""

    def test_roundtrip(self, tmp_path: Path) -> None:
        b = Baseline(step_definitions={"k": [1.0, 2.0]}, scenarios={"s": [3.0]}, runs=["r"])
        read = read_baseline(write_baseline(tmp_path / "sub/b.json", b))
        assert read.step_definitions == {"k": [1.0, 2.0]}
        assert read.scenarios == {"s": [3.0]}
        assert read.runs == ["r"]

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("not json", "not valid JSON"),
            ('{"schema": "qhub.baseline/1", "step_definitions": {"k": ["x"]}}', "list of numbers"),
            ('{"schema": "qhub.baseline/1", "scenarios": []}', "must be an object"),
        ],
    )
    def test_bad_files(self, tmp_path: Path, content: str, message: str) -> None:
        path = tmp_path / "b.json"
        path.write_text(content)
        with pytest.raises(ProfilerError, match=message):
            read_baseline(path)


class TestMerge:
    """Workers of one group merged into one document."""

    def test_counts_add_and_percentiles_pool(self) -> None:
        a = doc("a", group="g", samples=[1.0, 2.0], worker="1")
        b = doc("b", group="g", samples=[3.0, 4.0, 5.0], worker="2")
        merged = merge_documents([a, b])
        row = merged["step_definitions"][0]
        assert (row["count"], row["total_ms"], row["max_ms"], row["min_ms"]) == (5, 15.0, 5.0, 1.0)
        assert row["p50_ms"] == 3.0
        assert row["texts"][0]["count"] == 5
        assert merged["run"]["workers"] == 2
        assert merged["run"]["id"] == "g"
        assert merged["totals"]["steps"] == 5
        assert [s["worker"] for s in merged["scenarios"]] == ["1", "2"]
        assert merged["hooks"][0]["count"] == 6
        assert "worker time" in merged["attribution"]["measured_from"]
        assert merge_documents([a]) is a
