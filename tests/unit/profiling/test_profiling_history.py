"""The SQLite history: parts and runs, retention, baselines, migration, read-only use."""

from __future__ import annotations

import multiprocessing
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from qhub._quarantine import APPLICATION_ID
from qhub.exceptions import ProfilerError
from qhub.profiling.baseline import read_baseline, sample_set, write_baseline
from qhub.profiling.history import NothingRecordedError, run_figures
from qhub.profiling.history.sqlite import SQLiteHistory

V1_DDL = """
CREATE TABLE runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL, finished_at TEXT, wall_ms REAL, step_ms REAL, status TEXT,
    git_commit TEXT, git_branch TEXT, host TEXT, worker_id TEXT, doc BLOB NOT NULL);
CREATE INDEX runs_grp ON runs (grp);
CREATE TABLE baselines (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, runs TEXT NOT NULL);
CREATE TABLE qhub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO qhub_meta VALUES ('schema', '1');
"""


def v1_doc(run_id: str, group: str, samples: list[float], tags: Any = None) -> dict[str, Any]:
    """A run document as qhub wrote it with schema qhub.profile/1."""
    total = sum(samples)
    return {
        "schema": "qhub.profile/1",
        "run": {"id": run_id, "group": group, "wall_ms": 100.0, "status": "passed",
                "worker_id": None, "finished_at": "2026-01-01T00:00:00Z",
                "tags": tags or [], "host": "h"},
        "totals": {"features": 1, "scenarios": 1, "scenarios_failed": 0, "steps": len(samples),
                   "step_statuses": {"passed": len(samples)}, "step_definitions": 1},
        "attribution": {"wall_ms": 100.0, "parts_total_ms": 100.0, "measured_from": "x",
                        "parts": [{"name": "step_bodies", "label": "s", "ms": total,
                                   "percent": 1.0}]},
        "step_definitions": [{
            "key": "steps/a.py:7", "pattern": "a", "step_type": "given",
            "statuses": {"passed": len(samples)}, "count": len(samples), "total_ms": total,
            "mean_ms": total / len(samples), "min_ms": min(samples), "p50_ms": 0.0,
            "p95_ms": 0.0, "max_ms": max(samples), "rss_delta_mb": 0.0,
            "tracemalloc_peak_kb": 0.0, "texts": [], "samples_ms": samples}],
        "scenarios": [{"key": "f.feature:1", "name": "s", "feature": "F", "status": "passed",
                       "duration_ms": total, "hooks_ms": 0.0, "steps": 1, "rss_start_mb": 1.0,
                       "rss_end_mb": 1.0, "rss_delta_mb": 0.0}],
        "features": [], "hooks": [], "step_modules": [], "methods": [],
        "memory": {"enabled": False, "series": []}, "stats": {},
    }  # fmt: skip


def make_v1_db(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_DDL)
    rows = [("w1", "g1", [1.0, 2.0]), ("w2", "g1", [3.0]), ("solo", "solo", [4.0, 5.0])]
    for run_id, group, samples in rows:
        blob = zlib.compress(orjson.dumps(v1_doc(run_id, group, samples, ["['@smoke']"])))
        db.execute(
            "INSERT INTO runs (id, grp, finished_at, wall_ms, step_ms, status, host, doc)"
            " VALUES (?, ?, '2026-01-01T00:00:00Z', 100.0, ?, 'passed', 'h', ?)",
            (run_id, group, sum(samples), blob),
        )
    db.execute("INSERT INTO baselines VALUES ('default', 'then', ?)", (orjson.dumps(["w2"]),))
    db.commit()
    db.close()


class TestPartsAndRuns:
    """Each part is stored; each run is one row whose summary follows its parts."""

    def test_add_and_load(self, tmp_path: Path, record_factory: Any) -> None:
        rec = record_factory("run-1", samples=[1.0, 2.0])
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.add_part(rec)
            assert history.parts("run-1") == [rec]
            (summary,) = history.runs()
            assert (summary.id, summary.parts, summary.status, summary.step_ms) == (
                "run-1", 1, "passed", 3.0
            )  # fmt: skip
        db = sqlite3.connect(tmp_path / "h.db")
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID

    def test_parts_of_one_run_are_one_row(self, tmp_path: Path, record_factory: Any) -> None:
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.add_part(record_factory("run-1", "p1", [1.0], worker="0"))
            history.add_part(record_factory("run-1", "p2", [2.0], status="failed", worker="1"))
            (summary,) = history.runs()
            assert (summary.parts, summary.status, summary.step_ms) == (2, "failed", 3.0)
            assert [p.run.part for p in history.parts("run-1")] == ["p1", "p2"]
            assert history.get_run("p2") == summary  # a part id finds its run

    def test_retention_keeps_runs_and_pinned(self, tmp_path: Path, record_factory: Any) -> None:
        with SQLiteHistory(tmp_path / "h.db", retention=2) as history:
            history.add_part(record_factory("old"))
            history.set_baseline(["old"])
            for i in range(4):
                history.add_part(record_factory(f"r{i}"))
            assert [r.id for r in history.runs()] == ["r3", "r2", "old"]
            assert history.parts("r0") == []

    def test_figures(self, tmp_path: Path, record_factory: Any) -> None:
        rec = record_factory("run-1", samples=[1.0, 2.0, 3.0])
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.add_part(rec)
            history.set_figures("run-1", run_figures(rec))
            figures = history.figures(["run-1", "unknown"])
            assert figures == {"run-1": {"step_definition": {"steps/a.py::given::a": (2.0, 3)},
                                         "scenario": {"features/a.feature::s": (6.0, 1)},
                                         "method": {}, "feature": {}}}  # fmt: skip

    def test_workers_coordination(self, tmp_path: Path) -> None:
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.join_run("bx", "w0")
            history.join_run("bx", "w1")
            history.join_run("bx", "w0")
            assert history.leave_run("bx", "w1") is False
            assert history.leave_run("bx", "w0") is True


class TestBaselines:
    def test_set_show_clear(self, tmp_path: Path, record_factory: Any) -> None:
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.add_part(record_factory("a"))
            pinned = history.set_baseline(["a"])
            assert history.baseline() == pinned
            assert pinned.runs == ("a",)
            assert history.clear_baseline() is True
            assert history.baseline() is None
            assert history.clear_baseline() is False

    def test_file_round_trip(self, tmp_path: Path, record_factory: Any) -> None:
        samples = sample_set([record_factory("a", samples=[1.0, 2.0]),
                              record_factory("b", samples=[3.0])], "history:default")  # fmt: skip
        path = write_baseline(tmp_path / "sub/base.json", samples)
        back = read_baseline(path)
        item = back.items["step_definition"]["steps/a.py::given::a"]
        assert item.runs == ((1.0, 2.0), (3.0,))
        assert [r.id for r in back.runs] == ["a", "b"]
        assert back.source == f"file:{path}"

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{", "not valid JSON"),
            ("[]", "not a qhub baseline"),
            ('{"schema": "qhub.baseline/2", "items": {"scenario": []}}', "must be an object"),
            ('{"schema": "qhub.baseline/2", "runs": [{"id": 5}]}', "expected a string"),
            ('{"schema": "qhub.baseline/1", "step_definitions": {"k": ["x"]}}', "list of numbers"),
        ],
    )
    def test_bad_files_one_line(self, tmp_path: Path, content: str, message: str) -> None:
        path = tmp_path / "b.json"
        path.write_text(content)
        with pytest.raises(ProfilerError, match=message) as info:
            read_baseline(path)
        assert "\n" not in str(info.value)

    def test_v1_file_is_one_run(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        path.write_text(orjson.dumps({"schema": "qhub.baseline/1", "runs": ["x"],
                                      "step_definitions": {"steps/a.py:3": [1.0, 2.0]},
                                      "names": {"steps/a.py:3": "a"}}).decode())  # fmt: skip
        back = read_baseline(path)
        item = back.items["step_definition"]["steps/a.py:3"]
        assert (item.file, item.pattern, item.runs) == ("steps/a.py", "a", ((1.0, 2.0),))


class TestMigration:
    """A version-1 history is migrated in place, in one transaction."""

    def test_v1_to_current(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        make_v1_db(path)
        with SQLiteHistory(path) as history:
            runs = {r.id: r for r in history.runs()}
            assert set(runs) == {"g1", "solo"}
            assert (runs["g1"].parts, runs["g1"].step_ms) == (2, 6.0)
            parts = history.parts("g1")
            assert [p.run.part for p in parts] == ["w1", "w2"]
            row = parts[0].step_definitions[0]
            assert (row.key, row.location, row.line) == (
                "steps/a.py::given::a", "steps/a.py:7", 7
            )  # fmt: skip
            assert parts[0].run.tags == ("@smoke",)
            assert parts[0].scenarios[0].key == "f.feature::s"
            pinned = history.baseline()
            assert pinned is not None and pinned.runs == ("g1",)  # worker id -> its run
        db = sqlite3.connect(path)
        assert db.execute("SELECT value FROM qhub_meta WHERE key='schema'").fetchone() == ("3",)

    def test_read_only_open_does_not_migrate(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        make_v1_db(path)
        with pytest.raises(ProfilerError, match="has schema 1; the next behave run"):
            SQLiteHistory(path, readonly=True)
        db = sqlite3.connect(path)
        assert db.execute("SELECT value FROM qhub_meta WHERE key='schema'").fetchone() == ("1",)

    def test_newer_schema_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "h.db"
        SQLiteHistory(path).close()
        db = sqlite3.connect(path)
        db.execute("UPDATE qhub_meta SET value = '99' WHERE key = 'schema'")
        db.commit()
        db.close()
        with pytest.raises(ProfilerError, match="newer qhub"):
            SQLiteHistory(path)


class TestConcurrentFirstOpen:
    def test_wal_switch_refused_at_once_is_retried(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Several runners opening a new history together: the one switching the file to
        WAL while another opens it gets "database is locked" at once, without SQLite's
        busy handler (22 of 240 raw openings in a measured race). It must wait, not fail.
        The refusal is injected here; the race itself is
        ``tests/integration/postgres/test_history_writers.py``."""
        real_connect = sqlite3.connect
        refusals = [2]

        class Racing:
            def __init__(self, conn: sqlite3.Connection) -> None:
                self._conn = conn

            def execute(self, sql: str, *args: Any) -> Any:
                if sql.replace(" ", "").upper() == "PRAGMAJOURNAL_MODE=WAL" and refusals[0]:
                    refusals[0] -= 1
                    raise sqlite3.OperationalError("database is locked")
                return self._conn.execute(sql, *args)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._conn, name)

        monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: Racing(real_connect(*a, **k)))
        with SQLiteHistory(tmp_path / "h.db", timeout_s=5) as history:
            assert history.runs() == []
        assert refusals == [0]
        with real_connect(tmp_path / "h.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestNoBehaveRuns:
    def test_a_stress_only_history_says_where_its_runs_are(self, tmp_path: Path) -> None:
        from qhub.profiling.history import STRESS
        from qhub.profiling.reporting import recent_runs

        with SQLiteHistory(tmp_path / "h.db") as history:
            with pytest.raises(ProfilerError, match="no behave runs recorded") as empty:
                recent_runs(history, 1)
            assert "stress run" not in str(empty.value)
            history.add_document({"kind": "stress"}, run_id="s1", part="s1", kind=STRESS)
            with pytest.raises(ProfilerError, match="holds 1 stress run") as stress_only:
                recent_runs(history, 1)
            assert "qhub check --stress" in str(stress_only.value)


class TestReadOnly:
    def test_missing_history_creates_nothing(self, tmp_path: Path) -> None:
        with pytest.raises(NothingRecordedError, match="no runs recorded yet"):
            SQLiteHistory(tmp_path / ".qhub/history.db", readonly=True)
        assert list(tmp_path.iterdir()) == []

    def test_read_only_cannot_write(self, tmp_path: Path, record_factory: Any) -> None:
        with SQLiteHistory(tmp_path / "h.db") as history:
            history.add_part(record_factory("a"))
        with SQLiteHistory(tmp_path / "h.db", readonly=True) as history:
            assert [r.id for r in history.runs()] == ["a"]
            with pytest.raises(ProfilerError, match="read-only"):
                history.set_baseline(["a"])


def _writer(path: str, n: int) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_record

    with SQLiteHistory(path, timeout_s=30) as history:
        for i in range(5):
            history.add_part(make_record(f"w{n}", f"w{n}-{i}", [float(i)]))


def test_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    SQLiteHistory(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), n)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with SQLiteHistory(path) as history:
        assert sorted((r.id, r.parts) for r in history.runs()) == [(f"w{n}", 5) for n in range(4)]
