"""One contract every run-history backend honours, run against SQLite and a real PostgreSQL.

``HistoryContract`` holds the tests; each ``Test<Backend>Contract`` subclass only says how
to open its backend and how to damage its stored data by hand.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qhub.exceptions import ProfilerError
from qhub.profiling.history import STRESS, NothingRecordedError, RunHistory, run_figures
from qhub.profiling.history.postgres import PostgresHistory
from qhub.profiling.history.sqlite import SQLiteHistory
from qhub.profiling.record import RunRecord
from tests.unit.profiling.conftest import make_record

Opener = Callable[..., RunHistory]


def part(
    run_id: str,
    part_id: str,
    *,
    wall: float = 100.0,
    start: float | None = None,
    shard: str | None = None,
    status: str = "passed",
    samples: list[float] | None = None,
    pipeline: str | None = None,
) -> RunRecord:
    """A one-scenario part of run ``run_id`` with the given timing and lane."""
    record = make_record(run_id, part_id, samples, status=status)
    run = dataclasses.replace(
        record.run, wall_ms=wall, start_epoch_ms=start, shard=shard, pipeline=pipeline
    )
    return dataclasses.replace(record, run=run)


class HistoryContract:
    """Behaviour every history backend shows."""

    @pytest.fixture
    def open_history(self, tmp_path: Path) -> Opener:
        raise NotImplementedError

    def damage_part(self, history: RunHistory, part_id: str) -> None:
        """Overwrite a stored part's document with garbage, behind the backend's back."""
        raise NotImplementedError

    def set_schema(self, history: RunHistory, version: int) -> None:
        raise NotImplementedError

    def test_part_round_trip(self, open_history: Opener) -> None:
        """A stored part comes back equal; a part id finds its run."""
        record = part("run-1", "p1", samples=[1.0, 2.0])
        with open_history() as history:
            history.add_part(record)
            assert history.parts("run-1") == [record]
            found = history.get_run("p1")
            assert found is not None and found.id == "run-1" and found.kind == "behave"
            assert history.get_run("nope") is None

    def test_run_summary_follows_parts(self, open_history: Opener) -> None:
        """One row per run: parts counted, step time summed, the worst status kept."""
        with open_history() as history:
            history.add_part(part("r", "a", samples=[1.0, 2.0]))
            history.add_part(part("r", "b", samples=[4.0], status="failed"))
            [summary] = history.runs()
            assert (summary.id, summary.parts, summary.step_ms, summary.status) == (
                "r", 2, 7.0, "failed"
            )  # fmt: skip
            assert [p.run.part for p in history.parts("r")] == ["a", "b"]

    def test_wall_time_is_the_slowest_shard(self, open_history: Opener) -> None:
        """Shards run side by side: the run's wall time is the slowest one's, never the sum;
        parts of one shard (behavex inside it) span from the first start to the last end."""
        with open_history() as history:
            history.add_part(part("p", "s1", wall=300.0, start=1000.0, shard="1/2"))
            history.add_part(part("p", "s2a", wall=100.0, start=5000.0, shard="2/2"))
            history.add_part(part("p", "s2b", wall=150.0, start=5200.0, shard="2/2"))
            [summary] = history.runs()
            assert summary.wall_ms == 350.0  # shard 2: 5000 -> 5350; shard 1: 300

    def test_runs_newest_first_with_filters(self, open_history: Opener) -> None:
        with open_history() as history:
            for n in range(4):
                history.add_part(part(f"r{n}", f"r{n}", pipeline="pipe-a" if n % 2 else None))
            assert [s.id for s in history.runs()] == ["r3", "r2", "r1", "r0"]
            assert [s.id for s in history.runs(2)] == ["r3", "r2"]
            assert [s.id for s in history.runs(pipeline="pipe-a")] == ["r3", "r1"]
            history.add_part(part("r0", "r0-late"))  # a later part keeps the run's place
            assert [s.id for s in history.runs()] == ["r3", "r2", "r1", "r0"]

    def test_retention_per_kind_keeps_pinned(self, open_history: Opener) -> None:
        """The newest N runs of each kind stay, and pinned ones; stress runs are not pushed
        out by normal runs."""
        with open_history(retention=3) as history:
            history.add_document(
                {"kind": "stress", "n": 1}, run_id="st-1", part="st-1", kind=STRESS
            )
            history.add_part(part("r0", "r0"))
            history.set_baseline(["r0"])
            for n in range(1, 7):
                history.add_part(part(f"r{n}", f"r{n}"))
            assert [s.id for s in history.runs()] == ["r6", "r5", "r4", "r0"]
            assert history.parts("r1") == []
            assert [s.id for s in history.runs(kind=STRESS)] == ["st-1"]

    def test_kinds_stay_apart(self, open_history: Opener) -> None:
        """A stress run is listed only when asked for; its document comes back as stored."""
        doc = {"kind": "stress", "plan": {"users": 4}, "endpoints": [{"p95_ms": 12.5}]}
        with open_history() as history:
            history.add_part(part("normal", "normal"))
            history.add_document(
                doc, run_id="st", part="st-1", kind=STRESS, status="failed", wall_ms=9.5,
                finished_at="2026-01-02T00:00:00Z", pipeline="pipe",
            )  # fmt: skip
            assert [s.id for s in history.runs()] == ["normal"]
            [stress] = history.runs(kind=STRESS)
            assert (stress.id, stress.kind, stress.status, stress.wall_ms) == (
                "st", STRESS, "failed", 9.5
            )  # fmt: skip
            assert {s.id for s in history.runs(kind=None)} == {"normal", "st"}
            [stored] = history.documents("st")
            assert (stored.part, stored.kind, stored.status, stored.document) == (
                "st-1", STRESS, "failed", doc
            )  # fmt: skip
            assert history.parts("st") == []

    def test_documents_are_stored_without_known_secrets(self, open_history: Opener) -> None:
        """A secret qhub knows never reaches the stored document, in keys or values at any
        depth; the caller's document is left as it was."""
        from qhub._redact import REDACTED, forget_secrets, remember_secret

        secret = "tok-9f8e7d6c5b4a39281706"
        doc = {
            "kind": "stress",
            "endpoints": [{"key": f"GET /a?token={secret}", "first_errors": {"x": secret}}],
            f"note {secret}": [1, 2.5, None, True],
        }
        remember_secret(secret)
        try:
            with open_history() as history:
                history.add_document(doc, run_id="st", part="st", kind=STRESS)
                [stored] = history.documents("st")
        finally:
            forget_secrets()
        assert secret not in repr(stored.document)
        assert stored.document["endpoints"][0]["first_errors"] == {"x": REDACTED}
        assert stored.document[f"note {REDACTED}"] == [1, 2.5, None, True]
        assert doc["endpoints"][0]["first_errors"] == {"x": secret}  # type: ignore[index]

    def test_figures_never_stale(self, open_history: Opener) -> None:
        """Figures are stored for a run; a new part clears them; figures computed before a
        part arrived are not stored (``parts=`` guard)."""
        first = part("r", "a", samples=[1.0, 3.0])
        with open_history() as history:
            history.add_part(first)
            assert history.set_figures("r", run_figures(first), parts=1) is True
            assert history.figures(["r", "x"]) == {"r": run_figures(first)}
            history.add_part(part("r", "b"))
            assert history.figures(["r"]) == {}
            assert history.set_figures("r", run_figures(first), parts=1) is False
            assert history.figures(["r"]) == {}

    def test_baselines(self, open_history: Opener) -> None:
        with open_history() as history:
            history.add_part(part("r1", "r1"))
            pinned = history.set_baseline(["r1"])
            assert history.baseline() == pinned
            history.set_baseline(["r1"], name="nightly")
            assert [b.name for b in history.baselines()] == ["default", "nightly"]
            assert history.clear_baseline() is True
            assert history.clear_baseline() is False
            assert history.baseline() is None

    def test_workers_coordination(self, open_history: Opener) -> None:
        """The last worker of a coordinated run is told so, once."""
        with open_history() as history:
            history.join_run("r", "w1")
            history.join_run("r", "w2")
            assert history.leave_run("r", "w1") is False
            assert history.leave_run("r", "w2") is True

    def test_shard_plan_first_writer_wins(self, open_history: Opener) -> None:
        with open_history() as history:
            first = history.pin_plan("pipe:4", {"shards": [["a"], ["b"]]})
            second = history.pin_plan("pipe:4", {"shards": [["b"], ["a"]]})
            assert first == second == {"shards": [["a"], ["b"]]}

    def test_damaged_part_skipped_once_and_set_aside(
        self, open_history: Opener, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """A damaged stored document is skipped with one warning and moved aside; the run's
        other parts still load."""
        with open_history() as history:
            history.add_part(part("r", "good"))
            history.add_part(part("r", "bad"))
            self.damage_part(history, "bad")
            assert [p.run.part for p in history.parts("r")] == ["good"]
            assert [p.run.part for p in history.parts("r")] == ["good"]
        err = capfd.readouterr().err
        assert err.count("damaged record") == 1

    def test_read_only(self, open_history: Opener) -> None:
        """Read-only: nothing recorded yet is an error; writes are refused."""
        with pytest.raises(NothingRecordedError, match="no runs recorded yet"):
            open_history(readonly=True)
        with open_history() as history:
            history.add_part(part("r", "r"))
        with open_history(readonly=True) as history:
            assert [s.id for s in history.runs()] == ["r"]
            with pytest.raises(ProfilerError, match="read-only"):
                history.add_part(part("r2", "r2"))

    def test_reopen_keeps_everything(self, open_history: Opener) -> None:
        with open_history() as history:
            history.add_part(part("r", "r"))
        with open_history() as history:
            assert [s.id for s in history.runs()] == ["r"]

    def test_newer_schema_refused(self, open_history: Opener) -> None:
        with open_history() as history:
            self.set_schema(history, 99)
        with pytest.raises(ProfilerError, match="newer qhub"):
            open_history()


class TestSQLiteContract(HistoryContract):
    """The embedded default."""

    @pytest.fixture
    def open_history(self, tmp_path: Path) -> Opener:
        def opener(**kwargs: Any) -> RunHistory:
            return SQLiteHistory(tmp_path / "history.db", **kwargs)

        return opener

    def damage_part(self, history: RunHistory, part_id: str) -> None:
        assert isinstance(history, SQLiteHistory)
        with sqlite3.connect(history.path) as db:
            db.execute("UPDATE parts SET doc = ? WHERE id = ?", (b"not zlib", part_id))

    def set_schema(self, history: RunHistory, version: int) -> None:
        assert isinstance(history, SQLiteHistory)
        with sqlite3.connect(history.path) as db:
            db.execute("UPDATE qhub_meta SET value = ? WHERE key = 'schema'", (str(version),))


class TestPostgresContract(HistoryContract):
    """The shared history, on a real server."""

    @pytest.fixture
    def open_history(self, postgres_url: str) -> Opener:
        def opener(**kwargs: Any) -> RunHistory:
            return PostgresHistory(postgres_url, **kwargs)

        return opener

    def damage_part(self, history: RunHistory, part_id: str) -> None:
        assert isinstance(history, PostgresHistory)
        bomb = zlib.compress(b"[" * (80 * 1024 * 1024), 9)  # inflates past the 64 MiB limit
        history.conn.execute("UPDATE qhub_parts SET doc = %s WHERE id = %s", (bomb, part_id))

    def set_schema(self, history: RunHistory, version: int) -> None:
        assert isinstance(history, PostgresHistory)
        history.conn.execute(
            "UPDATE qhub_meta SET value = %s WHERE key = 'schema'", (str(version),)
        )
