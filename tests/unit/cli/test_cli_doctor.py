"""``qhub doctor`` against real services: the demo API and a redis-server of the test's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qhub.cli import main
from qhub.demo import DemoServer


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("QHUB_", "REDIS_", "CACHE_", "API_")):
            monkeypatch.delenv(name)
    return tmp_path


def lines(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Check name (padded to 16 columns after the status) -> its line."""
    out = capsys.readouterr().out.splitlines()
    return {line[5:21].strip(): line for line in out if line.startswith(("OK", "FAIL"))}


class TestDoctor:
    """One line per check; exit 1 when any check fails."""

    def test_all_green_with_live_api(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with DemoServer() as api:
            (project / "qhub.yaml").write_text(f"api:\n  base_url: {api.url}\n")
            assert main(["doctor"]) == 0
        checks = lines(capsys)
        assert checks["api"].startswith("OK") and "answered 200" in checks["api"]
        assert checks["config"].startswith("OK") and "qhub.yaml" in checks["config"]
        assert checks["python"].startswith("OK")
        assert checks["behave"].startswith("OK")
        assert not (project / ".qhub").exists()  # read-only: creates nothing
        assert list(project.iterdir()) == [project / "qhub.yaml"]

    def test_dead_api_fails_with_fix(
        self, project: Path, capsys: pytest.CaptureFixture[str], port_factory
    ) -> None:
        port = port_factory()
        (project / "qhub.yaml").write_text(
            f"api:\n  base_url: http://127.0.0.1:{port}\napis:\n  billing:\n"
            f"    base_url: http://127.0.0.1:{port}/?token=hunter2\n"
        )
        assert main(["doctor", "--timeout", "1"]) == 1
        out = capsys.readouterr().out
        assert "FAIL api " in out and "fix: start the API or fix api.base_url" in out
        assert "FAIL apis.billing" in out
        assert "hunter2" not in out

    @pytest.mark.redis
    def test_redis_checked_when_configured(
        self, project: Path, capsys: pytest.CaptureFixture[str], redis_server
    ) -> None:
        (project / "qhub.yaml").write_text(
            f"cache:\n  backend: redis\nredis:\n  url: {redis_server.url}\n"
        )
        assert main(["doctor"]) == 0
        assert "answered PING" in lines(capsys)["redis"]
        redis_server.stop()
        assert main(["doctor", "--timeout", "0.5"]) == 1
        line = lines(capsys)["redis"]
        assert line.startswith("FAIL") and "fix: start redis-server" in line

    def test_bad_config_stops_later_checks(
        self, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QHUB_REPORT_TOP", "zero")
        assert main(["doctor"]) == 1
        checks = lines(capsys)
        assert "QHUB_REPORT_TOP" in checks["config"]
        assert "api" not in checks

    def test_unwritable_folder(
        self, project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        blocker = project / "file"
        blocker.write_text("not a folder")
        monkeypatch.setenv("QHUB_REPORT_DIR", str(blocker / "reports"))
        assert main(["doctor"]) == 1
        assert lines(capsys)["report folder"].startswith("FAIL")


class TestDoctorReadOnly:
    """doctor reports; it never creates what it checks."""

    def test_creates_nothing_and_names_unprefixed_settings(
        self, project: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REDIS_URL", "redis://app-cache:6379/0")
        monkeypatch.setenv("CACHE_BACKEND", "django.core.cache.backends.redis.RedisCache")
        assert main(["doctor", "--timeout", "0.2"]) == 0
        captured = capfd.readouterr()
        assert list(project.iterdir()) == []
        checks = lines_of(captured.out)
        assert checks["environment"] == (
            "OK   environment      settings from unprefixed variables (another tool's?):"
            " redis.url from REDIS_URL; QHUB_<same name> overrides each"
        )
        assert checks["history"].endswith("can be created (in " + str(project) + ")")
        assert captured.err.splitlines() == [
            "qhub: warning: ignored cache.backend='django.core.cache.backends.redis.RedisCache'"
            " (from environment variable CACHE_BACKEND): must be one of memory, disk, redis,"
            " layered; set QHUB_CACHE_BACKEND to configure qhub"
        ]


def lines_of(out: str) -> dict[str, str]:
    return {line.split()[1]: line for line in out.splitlines() if line.startswith(("OK", "FAIL"))}


class TestDoctorHistory:
    """The run history is opened read-only and its newest run named; damage is a FAIL with
    the fix, and nothing is created, moved or changed."""

    def test_no_history_yet_is_fine_and_creates_nothing(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["doctor"]) == 0
        checks = lines(capsys)
        assert checks["history"].startswith("OK") and "no runs recorded yet" in checks["history"]
        assert checks["history folder"].startswith("OK")
        assert list(project.iterdir()) == []

    def test_newest_run_is_named(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from qhub.profiling.history.sqlite import SQLiteHistory

        db = project / ".qhub" / "history.db"
        with SQLiteHistory(db) as history:
            history.add_document(
                {"schema": 1}, run_id="run-doctor-1", part="p1", kind="stress", wall_ms=5.0
            )
        before = db.read_bytes()
        assert main(["doctor"]) == 0
        line = lines(capsys)["history"]
        assert line.startswith("OK") and "newest run run-doctor-1 (stress)" in line
        assert db.read_bytes() == before

    def test_damaged_history_fails_and_is_left_alone(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        db = project / ".qhub" / "history.db"
        db.parent.mkdir()
        db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
        assert main(["doctor"]) == 1
        line = lines(capsys)["history"]
        assert line.startswith("FAIL") and "fix: check profiling.history_db" in line
        assert sorted(p.name for p in db.parent.iterdir()) == ["history.db"]

    def test_unreachable_postgres_fails_without_the_password(
        self, project: Path, capsys: pytest.CaptureFixture[str], port_factory
    ) -> None:
        pytest.importorskip("psycopg")
        port = port_factory()
        (project / "qhub.yaml").write_text(
            "profiling:\n"
            f"  history_url: postgresql://qa:hunter2@127.0.0.1:{port}/runs\n"
            "  history_connect_timeout_s: 1\n"
        )
        assert main(["doctor"]) == 1
        checks = lines(capsys)
        assert checks["history"].startswith("FAIL")
        assert "fix: start the database or fix profiling.history_url" in checks["history"]
        assert "history folder" not in checks
        assert "hunter2" not in "".join(checks.values())
