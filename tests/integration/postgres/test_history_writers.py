"""Eight writer processes at once, on SQLite and on PostgreSQL: every run recorded, nothing
corrupt, one run's parts all counted, exactly one "last worker"."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from qhub.profiling.history import RunHistory
from qhub.profiling.history.postgres import PostgresHistory
from qhub.profiling.history.sqlite import SQLiteHistory

WRITERS = 8
OWN_PARTS = 4
SHARED_PARTS = 3


def _open(target: str) -> RunHistory:
    if target.startswith("postgresql://"):
        return PostgresHistory(target, timeout_s=30)
    return SQLiteHistory(target, timeout_s=30)


def _writer(target: str, n: int, barrier: Any, out: Any) -> None:
    import dataclasses

    from tests.unit.profiling.conftest import make_record

    barrier.wait(120)  # every writer acts at the same moment
    with _open(target) as history:  # all open the empty history (and create it) at once
        for i in range(SHARED_PARTS):  # then all write parts of one run at once
            shared = make_record("shared", f"shared-{n}-{i}", [1.0])
            lane = dataclasses.replace(shared.run, shard=f"{n + 1}/{WRITERS}", wall_ms=10.0 * n)
            history.add_part(dataclasses.replace(shared, run=lane))
        for i in range(OWN_PARTS):
            history.add_part(make_record(f"w{n}", f"w{n}-{i}", [float(i + 1)]))
        history.join_run("coordinated", f"w{n}")
        barrier.wait(120)  # everybody has joined; all leave at once
        out.put(history.leave_run("coordinated", f"w{n}"))


def run_writers(target: str) -> list[bool]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(target, n, barrier, out)) for n in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0, f"writer exited with {p.exitcode}"
    return [out.get(timeout=5) for _ in procs]


def check_history(target: str, lasts: list[bool]) -> None:
    assert sorted(lasts) == [False] * (WRITERS - 1) + [True]
    with _open(target) as history:
        runs = {s.id: s for s in history.runs()}
        assert set(runs) == {f"w{n}" for n in range(WRITERS)} | {"shared"}
        for n in range(WRITERS):
            assert runs[f"w{n}"].parts == OWN_PARTS
            parts = history.parts(f"w{n}")
            assert sorted(p.run.part for p in parts) == [f"w{n}-{i}" for i in range(OWN_PARTS)]
        assert runs["shared"].parts == WRITERS * SHARED_PARTS
        assert runs["shared"].wall_ms == 10.0 * (WRITERS - 1)  # the slowest shard
        assert len(history.parts("shared")) == WRITERS * SHARED_PARTS


@pytest.mark.slow
def test_eight_writers_sqlite(tmp_path: Path) -> None:
    target = str(tmp_path / "history.db")
    check_history(target, run_writers(target))


@pytest.mark.slow
def test_eight_writers_postgres(postgres_url: str) -> None:
    check_history(postgres_url, run_writers(postgres_url))
