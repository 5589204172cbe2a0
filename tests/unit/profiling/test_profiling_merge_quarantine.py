"""Merged totals count features/scenarios once; quarantines are announced in one line."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from qhub.config import load_config
from qhub.profiling.merge import merge_documents
from qhub.profiling.session import open_history


def _worker_doc(worker: str, scenarios: list[tuple[str, str]], steps: int) -> dict[str, Any]:
    """One worker's document: ``scenarios`` are (key, status); every one in feature f.feature."""
    return {
        "schema": "qhub.profile/1",
        "run": {"id": f"r{worker}", "group": "g", "wall_ms": 10.0, "status": "passed",
                "worker_id": worker},
        "totals": {"features": 1, "rules": 0, "scenarios": len(scenarios),
                   "scenarios_failed": sum(st == "failed" for _, st in scenarios),
                   "steps": steps, "step_statuses": {"passed": steps}, "step_definitions": 0},
        "attribution": {"wall_ms": 10.0, "parts_total_ms": 10.0, "measured_from": "x",
                        "parts": [{"name": "step_bodies", "label": "s", "ms": 1.0,
                                   "percent": 10.0}]},
        "step_definitions": [],
        "scenarios": [{"key": key, "name": key, "feature": "F", "status": st,
                       "duration_ms": 1.0, "hooks_ms": 0.0, "steps": 1, "rss_start_mb": 1.0,
                       "rss_end_mb": 1.0, "rss_delta_mb": 0.0} for key, st in scenarios],
        "features": [{"key": "features/f.feature:1", "name": "F", "status": "passed",
                      "duration_ms": 1.0, "rss_delta_mb": 0.0}],
        "hooks": [], "step_modules": [], "methods": [],
        "memory": {"enabled": False, "series": []}, "stats": {},
    }  # fmt: skip


def test_merged_totals_count_distinct_features_and_scenarios() -> None:
    """Five workers each running scenarios of the same feature: 1 feature, 5 scenarios."""
    docs = [
        _worker_doc(str(i), [(f"features/f.feature:{10 + i}", "failed" if i == 2 else "passed")],
                    steps=3)
        for i in range(5)
    ]  # fmt: skip
    docs.append(_worker_doc("5", [("features/f.feature:10", "passed")], steps=3))  # a rerun
    totals = merge_documents(docs)["totals"]
    assert totals["features"] == 1
    assert totals["scenarios"] == 5
    assert totals["scenarios_failed"] == 1
    assert totals["steps"] == 18  # executed steps add up
    assert totals["step_statuses"] == {"passed": 18}


def test_separate_run_groups_add_up() -> None:
    """``qhub report --last 3``: three runs of the same one-scenario suite are 3 runs."""
    docs = [_worker_doc(str(i), [("features/f.feature:10", "passed")], steps=2) for i in range(3)]
    for i, d in enumerate(docs):
        d["run"]["group"] = f"g{i}"
    totals = merge_documents(docs)["totals"]
    assert (totals["features"], totals["scenarios"], totals["steps"]) == (3, 3, 6)


def _corrupt_line(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "history" in ln]


def test_open_history_announces_quarantine_once(tmp_path: Path, capfd: Any) -> None:
    config = load_config(tmp_path, environ={})
    db = tmp_path / ".qhub/history.db"
    db.parent.mkdir()
    db.write_bytes(b"\x00garbage, not SQLite" * 100)
    history = open_history(config)
    history.close()
    lines = _corrupt_line(capfd.readouterr().err)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"qhub: warning: history database \.qhub/history\.db was unreadable; "
        r"moved to \.qhub/history\.db\.corrupt-\d{8}T\d{6}; starting a new one",
        lines[0],
    )
    open_history(config).close()  # healthy now: nothing more to say
    assert _corrupt_line(capfd.readouterr().err) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_broken_pages_found_while_recording_are_quarantined(
    make_observer: Any, fx: Any, tmp_path: Path, capfd: Any
) -> None:
    """The header reads fine but the runs table is broken: moved aside when recording
    fails, announced, and the run is recorded in a fresh database."""
    d = make_observer()
    d.start()
    d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
    d.finish()
    db = tmp_path / ".qhub/history.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(db.read_bytes())
    start = (root[0] - 1) * page_size
    raw[start : start + page_size] = b"\xff" * page_size
    db.write_bytes(bytes(raw))
    capfd.readouterr()
    d2 = make_observer()
    d2.start()
    d2.step(fx.FakeStep("y", match=fx.definition("y", 2)), 3)
    written = d2.finish()
    assert written, capfd.readouterr().err
    lines = _corrupt_line(capfd.readouterr().err)
    assert len(lines) == 1 and "moved to .qhub/history.db.corrupt-" in lines[0], lines
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_complete_run_without_after_all_hook_is_passed(make_observer: Any, fx: Any) -> None:
    """The integration reports only hooks the user defined: no after_all is not a crash."""
    d = make_observer()
    d.start()
    scenario = fx.FakeScenario("s", "features/a.feature:3")
    d.begin("scenario", scenario, hook_ms=4)
    d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
    d.obs.on_end("scenario", scenario, d.clock())
    d.obs.finish({})
    doc = d.obs.document
    assert doc["run"]["status"] == "passed"
    assert doc["scenarios"][0]["hooks_ms"] == 4.0
