"""Corrupt history: moved aside once and announced in one line; the run is still recorded."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from qhub.config import load_config
from qhub.profiling.history import open_history


def _history_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "history" in ln]


def test_open_history_announces_quarantine_once(tmp_path: Path, capfd: Any) -> None:
    config = load_config(tmp_path, environ={})
    db = tmp_path / ".qhub/history.db"
    db.parent.mkdir()
    db.write_bytes(b"\x00garbage, not SQLite" * 100)
    open_history(config).close()
    lines = _history_lines(capfd.readouterr().err)
    assert len(lines) == 1, lines
    assert re.fullmatch(
        r"qhub: warning: run history \.qhub/history\.db was damaged \(file is not a database\);"
        r" moved to \.qhub/history\.db\.corrupt-\d{8}T\d{6}-\d+-0; starting a new one",
        lines[0],
    )
    open_history(config).close()  # healthy now: nothing more to say
    assert _history_lines(capfd.readouterr().err) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_broken_pages_found_while_recording_are_quarantined(
    make_observer: Any, fx: Any, tmp_path: Path, capfd: Any
) -> None:
    """The header reads fine but the parts table is broken: moved aside when recording
    fails, announced, and the run is recorded in a fresh database."""
    d = make_observer()
    d.start()
    d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
    d.finish()
    db = tmp_path / ".qhub/history.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'parts'").fetchone()
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
    lines = _history_lines(capfd.readouterr().err)
    assert len(lines) == 1 and "moved to .qhub/history.db.corrupt-" in lines[0], lines
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM parts").fetchone()[0] == 1


def test_complete_run_without_after_all_hook_is_passed(make_observer: Any, fx: Any) -> None:
    """The integration reports only hooks the user defined: no after_all is not a crash."""
    d = make_observer()
    d.start()
    scenario = fx.FakeScenario("s", "features/a.feature:3")
    d.begin("scenario", scenario, hook_ms=4)
    d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 3)
    d.obs.on_end("scenario", scenario, d.clock())
    d.obs.finish({})
    assert d.record.run.status == "passed"
    assert d.record.scenarios[0].hooks_ms == 4.0
