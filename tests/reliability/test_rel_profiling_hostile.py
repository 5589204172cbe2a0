"""Profiling under hostile state and faults (issue 15, classes 1, 2, 3, 8, 9).

Real behave runs on real files: symlinks, foreign files, directories and FIFOs where the
history should be; damaged history rows, baselines and lock files; a history locked by
another process; read-only and full file systems (a private mount namespace, where the
machine allows one); bidi and control characters in what the suite names. Each case would
have failed on qhub before this change (a traceback, a hang, a moved or overwritten file,
no report, or a raw control character in the output).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

FEATURE = """\
Feature: shop
  Scenario: browse
    Given the shop is open
    Then it sells 3 things
"""

STEPS = """\
from behave import given, then


@given("the shop is open")
def open_shop(context):
    context.n = 3


@then("it sells {n:d} things")
def sells(context, n):
    assert context.n == n
"""

CONFIG = '{"report": {"formats": ["json", "html"]}, "profiling": {"history_timeout_s": 1}}'


@pytest.fixture
def project(tmp_path: Path, kit: Any) -> Path:
    root = kit.write_project(tmp_path / "proj", {"shop.feature": FEATURE}, {"shop.py": STEPS})
    (root / "qhub.json").write_text(CONFIG)
    return root  # type: ignore[no-any-return]


def _run(behave_run: Any, project: Path, kit: Any, **env: str) -> Any:
    return behave_run(project, env=kit.qhub_env(project, **env), timeout=120)


def _warnings(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("qhub: warning:")]


def _reported(project: Path) -> bool:
    return (project / "reports/qhub-report.json").is_file()


def _runs(project: Path) -> int:
    with sqlite3.connect(project / ".qhub/history.db") as db:
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def _clean(result: Any) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output


# -- class 1: quarantine never destroys what it should protect ---------------------------------


class TestQuarantineProtects:
    def test_symlink_to_a_foreign_database_is_refused(
        self, project: Path, tmp_path: Path, behave_run: Any, kit: Any
    ) -> None:
        """The example: .qhub/history.db symlinked to another program's database outside."""
        foreign = tmp_path / "outside/app.db"
        foreign.parent.mkdir()
        with sqlite3.connect(foreign) as db:
            db.execute("CREATE TABLE users (name TEXT)")
            db.execute("INSERT INTO users VALUES ('alice')")
        before = foreign.read_bytes()
        (project / ".qhub").mkdir()
        (project / ".qhub/history.db").symlink_to(foreign)
        result = _run(behave_run, project, kit)
        _clean(result)
        assert foreign.read_bytes() == before  # not converted, not moved
        assert (project / ".qhub/history.db").is_symlink()
        (line,) = _warnings(result)
        assert "another program's SQLite database" in line
        assert _reported(project)

    def test_two_quarantines_in_one_second_keep_both(self, tmp_path: Path) -> None:
        """Quarantine names had one-second resolution: the second move overwrote the first."""
        from qhub.config import load_config
        from qhub.profiling.history import open_history

        config = load_config(tmp_path, environ={})
        history = tmp_path / ".qhub/history.db"
        history.parent.mkdir()
        for garbage in (b"first broken file " * 100, b"second broken file " * 100):
            history.write_bytes(garbage)
            open_history(config).close()  # both within the same second
        kept = sorted(p for p in history.parent.glob("history.db.corrupt-*")
                      if not p.name.endswith(("-wal", "-shm")))  # fmt: skip
        assert sorted(p.read_bytes()[:6] for p in kept) == [b"first ", b"second"]

    def test_a_directory_in_the_way_is_not_moved(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        (project / ".qhub/history.db").mkdir(parents=True)
        (project / ".qhub/history.db/keep.txt").write_text("mine")
        result = _run(behave_run, project, kit)
        _clean(result)
        assert (project / ".qhub/history.db/keep.txt").read_text() == "mine"
        assert not list((project / ".qhub").glob("*.corrupt-*"))
        assert "not a regular file" in _warnings(result)[0]
        assert _reported(project)

    def test_a_user_file_named_as_history_is_not_converted(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        notes = project / "notes.txt"
        notes.write_text("my notes, not a database\n")
        result = _run(behave_run, project, kit, QHUB_PROFILING_HISTORY_DB=str(notes))
        _clean(result)
        assert notes.read_text() == "my notes, not a database\n"
        assert not list(project.glob("notes.txt.corrupt-*"))
        assert "is not a qhub database" in _warnings(result)[0]
        assert _reported(project)

    def test_a_locked_database_is_not_quarantined(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        with _held_write_lock(project / ".qhub/history.db"):
            result = _run(behave_run, project, kit)
        _clean(result)
        assert not list((project / ".qhub").glob("*.corrupt-*"))
        assert "is locked by another process; gave up after 1 s" in result.stderr
        assert _runs(project) == 1  # the first run is still there


class _held_write_lock:
    """Another process holding a write transaction on a SQLite file."""

    def __init__(self, path: Path) -> None:
        code = (
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(60)\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )

    def __enter__(self) -> None:
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(10)


# -- class 2: one bad record never blocks the reports ------------------------------------------


class TestDamageIsContained:
    def test_one_damaged_row_is_skipped_and_said_once(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        """The example: a damaged history row stopped every later report and `qhub check`."""
        for _ in range(2):
            _clean(_run(behave_run, project, kit))
        with sqlite3.connect(project / ".qhub/history.db") as db:
            (first,) = db.execute("SELECT id FROM parts ORDER BY seq LIMIT 1").fetchone()
            db.execute("UPDATE parts SET doc = ? WHERE id = ?", (b"\x78\x9cbroken", first))
            (pinned,) = db.execute("SELECT run_id FROM parts WHERE id = ?", (first,)).fetchone()
        check = subprocess.run(
            [sys.executable, "-m", "qhub", "baseline", "set", "--run", pinned],
            cwd=project, env={**os.environ, **kit.qhub_env(project)}, capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
        result = _run(behave_run, project, kit)
        _clean(result)
        damaged = [w for w in _warnings(result) if "damaged record" in w]
        assert len(damaged) == 1, result.stderr
        assert _reported(project)
        gate = subprocess.run(
            [sys.executable, "-m", "qhub", "check"], cwd=project,
            env={**os.environ, **kit.qhub_env(project)}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert gate.returncode == 0, gate.stdout + gate.stderr
        assert "Traceback" not in gate.stderr
        with sqlite3.connect(project / ".qhub/history.db") as db:
            assert db.execute("SELECT count(*) FROM damaged_parts").fetchone()[0] == 1

    def test_hostile_but_well_formed_row_is_skipped(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        hostile = zlib.compress(b'{"schema": "qhub.profile/2", "run": {"id": 5}}')
        with sqlite3.connect(project / ".qhub/history.db") as db:
            (run_id,) = db.execute("SELECT id FROM runs").fetchone()
            db.execute(
                "INSERT INTO parts (id, run_id, doc) VALUES ('evil', ?, ?)", (run_id, hostile)
            )
        result = _run(behave_run, project, kit, QHUB_RUN_ID=run_id)
        _clean(result)
        assert any("damaged record" in w for w in _warnings(result))
        assert _reported(project)

    def test_bad_baseline_file_leaves_the_reports(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        (project / "baseline.json").write_text('{"schema": "qhub.baseline/2", "runs": "x"')
        result = _run(behave_run, project, kit, QHUB_PROFILING_BASELINE_FILE="baseline.json")
        _clean(result)
        (line,) = _warnings(result)
        assert line.startswith("qhub: warning: baseline file ignored: baseline file ")
        assert _reported(project) and _runs(project) == 1

    def test_lock_file_that_cannot_be_opened_leaves_the_reports(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        (project / ".qhub/history.db.lock").mkdir(parents=True)  # cannot be opened as a file
        result = _run(behave_run, project, kit)
        _clean(result)
        (line,) = _warnings(result)
        assert "run history lock" in line and "recording without it" in line
        assert _reported(project) and _runs(project) == 1

    def test_damaged_pinned_baseline_is_ignored(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        with sqlite3.connect(project / ".qhub/history.db") as db:
            db.execute("INSERT INTO baselines VALUES ('default', 'now', '{not json')")
        result = _run(behave_run, project, kit)
        _clean(result)
        assert any("pinned baseline 'default' is damaged" in w for w in _warnings(result))
        assert _reported(project) and _runs(project) == 2


# -- class 3: every wait has a bound -----------------------------------------------------------


class TestBoundedWaits:
    def test_history_lock_held_elsewhere_does_not_hang(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        """The example: flock on the history lock had no timeout; behave hung in after_all."""
        (project / ".qhub").mkdir()
        code = (
            "import fcntl, sys, time\n"
            f"f = open({str(project / '.qhub/history.db.lock')!r}, 'a+b')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)\n"
        )
        holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            result = _run(behave_run, project, kit)
            assert time.monotonic() - started < 60  # generous: the lock waits 1 s
        finally:
            holder.kill()
            holder.wait(10)
        _clean(result)
        assert any("run history lock" in w and "gave up after 1 s" in w for w in _warnings(result))
        assert _reported(project) and _runs(project) == 1

    def test_fifo_as_baseline_file_does_not_hang(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        os.mkfifo(project / "baseline.json")
        result = _run(behave_run, project, kit, QHUB_PROFILING_BASELINE_FILE="baseline.json")
        _clean(result)
        assert any("FIFO" in w or "not a regular file" in w for w in _warnings(result))
        assert _reported(project)

    def test_fifo_as_history_does_not_hang(self, project: Path, behave_run: Any, kit: Any) -> None:
        (project / ".qhub").mkdir()
        os.mkfifo(project / ".qhub/history.db")
        result = _run(behave_run, project, kit)
        _clean(result)
        assert "not a regular file" in _warnings(result)[0]
        assert _reported(project)

    def test_busy_history_waits_only_its_timeout(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        with _held_write_lock(project / ".qhub/history.db"):
            started = time.monotonic()
            result = _run(behave_run, project, kit, QHUB_PROFILING_HISTORY_TIMEOUT_S="2")
            elapsed = time.monotonic() - started
        _clean(result)
        assert "gave up after 2 s" in result.stderr
        assert elapsed < 60  # the old busy timeout alone was 30 s
        assert _reported(project)


# -- file systems that refuse: read-only, full (private mount namespace) -----------------------


def _namespace_ok() -> bool:
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(
    not _namespace_ok(), reason="needs `unshare -m` (a private mount namespace) to mount tmpfs"
)


def _behave_in_namespace(
    project: Path, kit: Any, setup: list[str], after: str = "", **env: str
) -> Any:
    """behave in a private mount namespace after ``setup``; ``after`` runs there too."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_"))}
    full_env.update({"NO_COLOR": "1", **kit.qhub_env(project, **env)})
    behave = f"{shlex.quote(sys.executable)} -m behave --no-color"
    script = " && ".join([*setup, f"{{ {behave}; rc=$?; {after or 'true'}; exit $rc; }}"])
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=project,
        env=full_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@needs_namespace
class TestRefusingFileSystems:
    """The history alone on a read-only or full file system (the cache stays elsewhere)."""

    def test_read_only_history_is_not_quarantined(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        history = str(project / "hist/history.db")
        _clean(_run(behave_run, project, kit, QHUB_PROFILING_HISTORY_DB=history))
        folder = shlex.quote(str(project / "hist"))
        result = _behave_in_namespace(
            project, kit,
            [f"mount --bind {folder} {folder}", f"mount -o remount,ro,bind {folder}"],
            QHUB_PROFILING_HISTORY_DB=history,
        )  # fmt: skip
        _clean(result)
        assert not list((project / "hist").glob("*.corrupt-*"))
        assert "this run is not recorded (the reports are still written)" in result.stderr
        with sqlite3.connect(history) as db:
            assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        assert _reported(project)

    def test_full_disk_for_the_history_keeps_the_reports(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        folder = project / "hist"
        folder.mkdir()
        fill = f"dd if=/dev/zero of={shlex.quote(str(folder / 'fill'))} bs=4k 2>/dev/null || true"
        result = _behave_in_namespace(
            project, kit,
            [f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(folder))}", fill],
            QHUB_PROFILING_HISTORY_DB=str(folder / "history.db"),
        )  # fmt: skip
        _clean(result)
        warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("qhub: warning:")]
        assert len(warnings) == 1 and "not recorded" in warnings[0], result.stderr
        assert _reported(project)

    def test_full_disk_for_the_reports_leaves_no_temp_files(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        """Class 8: a report that cannot be written completely leaves the old one intact
        and no temporary file behind (checked inside the full file system)."""
        _clean(_run(behave_run, project, kit))
        reports = project / "reports"
        keep = shlex.quote(str(project / "keep"))
        target = shlex.quote(str(reports))
        result = _behave_in_namespace(
            project, kit,
            [f"cp -a {target} {keep}", f"mount -t tmpfs -o size=64k tmpfs {target}",
             f"cp -a {keep}/. {target}/",
             f"dd if=/dev/zero of={target}/fill bs=1k 2>/dev/null || true"],
            after=f"echo LISTING; ls -A {target}; cmp -s {target}/qhub-report.html"
                  f" {keep}/qhub-report.html && echo OLD-REPORT-INTACT",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "cannot write" in result.stderr
        listing = result.stdout.split("LISTING\n", 1)[1].splitlines()
        assert "OLD-REPORT-INTACT" in listing  # inside the full file system
        assert not [name for name in listing if name.endswith(".tmp")], listing


# -- class 8: reports and baselines written atomically, permissions kept ------------------------


class TestAtomicWrites:
    def test_report_permissions_survive_a_rewrite(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        report = project / "reports/qhub-report.html"
        report.chmod(0o600)
        _clean(_run(behave_run, project, kit))
        assert report.stat().st_mode & 0o777 == 0o600

    def test_symlinked_report_is_replaced_not_written_through(
        self, project: Path, tmp_path: Path, behave_run: Any, kit: Any
    ) -> None:
        elsewhere = tmp_path / "precious.json"
        elsewhere.write_text("do not overwrite")
        (project / "reports").mkdir()
        (project / "reports/qhub-report.json").symlink_to(elsewhere)
        _clean(_run(behave_run, project, kit))
        assert elsewhere.read_text() == "do not overwrite"
        assert not (project / "reports/qhub-report.json").is_symlink()

    def test_exported_baseline_keeps_permissions_and_has_no_temp(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        _clean(_run(behave_run, project, kit))
        env = {**os.environ, **kit.qhub_env(project)}
        qhub = [sys.executable, "-m", "qhub"]
        subprocess.run([*qhub, "baseline", "set"], cwd=project, env=env, check=True)
        target = project / "perf-baseline.json"
        target.write_text("{}")
        target.chmod(0o640)
        subprocess.run([*qhub, "baseline", "export", str(target)], cwd=project, env=env,
                       check=True, capture_output=True)  # fmt: skip
        assert target.stat().st_mode & 0o777 == 0o640
        assert '"qhub.baseline/2"' in target.read_text()
        assert [p.name for p in project.iterdir() if p.name.startswith(".perf")] == []


# -- class 9: bidi controls neutralised, tags stored as tags -----------------------------------

BIDI_FEATURE = """\
@smoke
Feature: tricky names
  Scenario: pay \u202eyaP\u202c now
    Given the shop is open
    Then it sells 3 things
"""


class TestDisplaySafety:
    def test_bidi_in_names_is_made_visible(self, project: Path, behave_run: Any, kit: Any) -> None:
        """The example: U+202E was emitted raw in the HTML report and the terminal."""
        (project / "features/shop.feature").write_text(BIDI_FEATURE, encoding="utf-8")
        (project / "qhub.json").write_text(
            '{"report": {"formats": ["json", "html", "markdown", "prometheus"], "verbose": true}}'
        )
        result = _run(behave_run, project, kit)
        _clean(result)
        summary = result.stdout[result.stdout.index("qhub: run ") :]
        assert "\u202e" not in summary and "<U+202E>yaP<U+202C>" in summary
        for name in ("qhub-report.html", "qhub-report.md", "qhub-metrics.prom"):
            text = (project / "reports" / name).read_text(encoding="utf-8")
            assert "\u202e" not in text, name
            assert "U+202E" in text or name.endswith(".md"), name  # md names no scenario here

    def test_escape_sequences_in_errors_are_made_visible(
        self, project: Path, behave_run: Any, kit: Any
    ) -> None:
        (project / "steps/shop.py").write_text(
            STEPS.replace("assert context.n == n", "assert False, 'boom\\x1b[2J\\x1b[31mred'")
        )
        result = _run(behave_run, project, kit, QHUB_REPORT_VERBOSE="true")
        assert result.returncode == 1
        summary = result.stdout[result.stdout.index("qhub: run ") :]
        assert "\x1b" not in summary
        assert "boom<U+001B>[2J<U+001B>[31mred" in summary
        html = (project / "reports/qhub-report.html").read_text()
        assert "\x1b" not in html and "boom&lt;U+001B&gt;[2J" in html

    def test_tags_are_stored_as_tags(self, project: Path, behave_run: Any, kit: Any) -> None:
        """The example: tags were stored as a Python repr, ``["['@smoke']"]``."""
        result = behave_run(project, "--tags", "@smoke", "--tags", "not @slow",
                            env=kit.qhub_env(project))  # fmt: skip
        assert result.returncode == 0, result.output
        with sqlite3.connect(project / ".qhub/history.db") as db:
            blob = db.execute("SELECT doc FROM parts").fetchone()[0]
        import orjson

        run = orjson.loads(zlib.decompress(blob))["run"]
        assert run["tags"] == ["@smoke", "not @slow"]

    def test_bidi_in_tags_is_made_visible(self, project: Path, behave_run: Any, kit: Any) -> None:
        result = behave_run(project, "--tags", "not @x\u2066y", env=kit.qhub_env(project))
        assert result.returncode == 0, result.output
        html = (project / "reports/qhub-report.html").read_text(encoding="utf-8")
        assert "\u2066" not in html and "@x&lt;U+2066&gt;y" in html


def test_concurrent_thread_never_sees_a_half_written_report(
    project: Path, behave_run: Any, kit: Any
) -> None:
    """Class 8: a reader polling the report while runs rewrite it always parses it."""
    import json

    _clean(_run(behave_run, project, kit))
    report = project / "reports/qhub-report.json"
    bad: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                json.loads(report.read_text())
            except FileNotFoundError:
                bad.append("missing")
            except ValueError as exc:
                bad.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(2):
            _clean(_run(behave_run, project, kit))
    finally:
        stop.set()
        reader.join(10)
    assert bad == []
