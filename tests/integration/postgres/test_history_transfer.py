"""``qhub history export|import``: SQLite -> PostgreSQL -> SQLite gives identical runs; bad
files are refused before anything is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from qhub.cli import main
from qhub.profiling.history import STRESS, RunHistory, run_figures
from qhub.profiling.history.postgres import PostgresHistory
from qhub.profiling.history.sqlite import SQLiteHistory
from tests.integration.postgres.conftest import PASSWORD
from tests.integration.postgres.test_history_contract import part


def fill(history: RunHistory) -> None:
    """Runs of two kinds, several parts with lanes, figures, two baselines."""
    for n in range(3):
        record = part(f"run-{n}", f"run-{n}-a", samples=[1.0 + n, 2.0], pipeline="pipe")
        history.add_part(record)
        history.set_figures(record.run.id, run_figures(record), parts=1)
    history.add_part(part("sharded", "s1", wall=300.0, start=1.0, shard="1/2"))
    history.add_part(part("sharded", "s2", wall=200.0, start=2.0, shard="2/2", status="failed"))
    history.add_document(
        {"kind": "stress", "endpoints": [{"p99_ms": 88.0}]}, run_id="stress-1", part="stress-1",
        kind=STRESS, wall_ms=5000.0, finished_at="2026-03-01T00:00:00Z",
    )  # fmt: skip
    history.set_baseline(["run-0", "run-1"])
    history.set_baseline(["run-2"], name="nightly")


FIGURED = ["run-0", "run-1", "run-2"]
"""Runs given figures by ``fill``; an import computes them for the others."""


def snapshot(history: RunHistory) -> list[Any]:
    """Everything a history holds, without its storage order numbers."""
    runs = [dataclasses.replace(s, seq=0) for s in history.runs(kind=None)]
    return [
        runs,
        {s.id: history.documents(s.id) for s in runs},
        history.figures(FIGURED),
        history.baselines(),
    ]


def export(source: str, file: Path) -> None:
    assert main(["history", "export", str(file), "--from", source]) == 0


def test_round_trip_sqlite_postgres_sqlite(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.db"
    with SQLiteHistory(first) as history:
        fill(history)
        before = snapshot(history)
    export(str(first), tmp_path / "a.jsonl")
    assert main(["history", "import", str(tmp_path / "a.jsonl"), "--to", postgres_url]) == 0
    with PostgresHistory(postgres_url) as history:
        assert snapshot(history) == before
        computed = history.figures(["sharded"])["sharded"]
        assert computed["scenario"] == {"features/a.feature::s": (6.0, 1)}
    export(postgres_url, tmp_path / "b.jsonl")
    second = tmp_path / "second.db"
    assert main(["history", "import", str(tmp_path / "b.jsonl"), "--to", str(second)]) == 0
    with SQLiteHistory(second) as history:
        assert snapshot(history) == before
    err = capsys.readouterr().err
    assert "imported 5 runs (6 parts, 2 baseline(s))" in err
    assert PASSWORD not in err and "<redacted>" in err


def test_import_twice_changes_nothing(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "h.db"
    with SQLiteHistory(source) as history:
        fill(history)
    export(str(source), tmp_path / "x.jsonl")
    for _ in range(2):
        assert main(["history", "import", str(tmp_path / "x.jsonl"), "--to", postgres_url]) == 0
    with PostgresHistory(postgres_url) as history:
        assert [(s.id, s.parts) for s in history.runs(kind=None)] == [
            ("stress-1", 1), ("sharded", 2), ("run-2", 1), ("run-1", 1), ("run-0", 1)
        ]  # fmt: skip
        assert history.runs()[0].wall_ms == 300.0  # the slowest shard, kept


def test_target_baseline_is_kept(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "h.db"
    with SQLiteHistory(source) as history:
        fill(history)
    export(str(source), tmp_path / "x.jsonl")
    with PostgresHistory(postgres_url) as history:
        history.add_part(part("mine", "mine"))
        history.set_baseline(["mine"])
    assert main(["history", "import", str(tmp_path / "x.jsonl"), "--to", postgres_url]) == 0
    with PostgresHistory(postgres_url) as history:
        pinned = history.baseline()
        assert pinned is not None and pinned.runs == ("mine",)
    assert "kept the target's own baseline(s): default" in capsys.readouterr().err


BAD_RECORD = (
    orjson.dumps({"type": "part", "run": "r", "kind": "behave", "document": {"schema": "x"}})
    + b"\n"
)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines[:-1], "truncated"),
        (lambda lines: [lines[0], b"{not json\n", *lines[1:]], ":2: not JSON"),
        (lambda lines: [b'{"format": "other"}\n', *lines[1:]], "not a qhub history export"),
        (lambda lines: [lines[0], BAD_RECORD, *lines[1:]], "damaged run record"),
        (lambda lines: [lines[0], b'{"type": "mystery"}\n', *lines[1:]], "unknown line type"),
        (lambda lines: [], "is empty"),
    ],
)
def test_bad_files_write_nothing(
    tmp_path: Path, damage: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "h.db"
    with SQLiteHistory(source) as history:
        fill(history)
    good = tmp_path / "good.jsonl"
    export(str(source), good)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(damage(_lines(good))))
    capsys.readouterr()
    target = tmp_path / "target.db"
    assert main(["history", "import", str(bad), "--to", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not target.exists()


def test_export_to_stdout_and_fifo_refused(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import os

    source = tmp_path / "h.db"
    with SQLiteHistory(source) as history:
        fill(history)
    assert main(["history", "export", "--from", str(source), "--kind", "stress"]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert orjson.loads(lines[-1]) == {"type": "end", "runs": 1, "parts": 1, "baselines": 2}
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["history", "import", str(fifo), "--to", str(tmp_path / "t.db")]) == 2
