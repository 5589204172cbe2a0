"""Shared fixtures: real services on free loopback ports, and real behave runs.

Services are started by the tests themselves (never mocked) so a test can stop them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def _behave_version() -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(part) for part in version("behave").split(".")[:3] if part.isdigit())


BEHAVE_VERSION = ".".join(map(str, _behave_version()))
"""The behave this interpreter runs (``.ci/run`` repeats ``behave_matrix`` tests on 1.2.6)."""
BEHAVE_HAS_RUNNER = _behave_version() >= (1, 2, 7)
"""``--runner`` (and ``run_hook_with_capture``) exist since behave 1.2.7."""


# Hypothesis keeps an example database in ./.hypothesis by default: tests never write
# inside the checkout, so it keeps none.
hypothesis_settings.register_profile("qhub", database=None)
hypothesis_settings.load_profile("qhub")

_DEV_LEFTOVERS = (
    ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
    ".import_linter_cache", ".grimp_cache", "qhub.egg-info",
)  # fmt: skip
"""Paths in the checkout that tools (not tests) create; everything else is a test's fault."""


_GIT_STATUS = ("git", "status", "--porcelain", "--ignored", "--untracked-files=all")


def _stray_paths() -> set[str] | None:
    """Untracked or ignored paths in the checkout, ``None`` when git cannot tell."""
    try:
        proc = subprocess.run(
            # every file (not collapsed folders), so a new file in an existing .qhub/ shows
            [*_GIT_STATUS, "--", ".", ":!.venv", ":!.venv-*"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    paths = {line[3:].strip() for line in proc.stdout.splitlines() if line[:2] in ("??", "!!")}
    return {
        p
        for p in paths
        if not any(part in _DEV_LEFTOVERS or part.startswith(".venv") for part in p.split("/"))
    }


_BEFORE: set[str] | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _BEFORE
    _BEFORE = _stray_paths()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test wrote into the checkout (tests use tmp_path)."""
    after = _stray_paths()
    if _BEFORE is None or after is None:
        return
    new = sorted(after - _BEFORE)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"tests wrote inside the checkout: {', '.join(new)}"
        if reporter is not None:
            reporter.write_line(f"qhub tests: FAIL: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


MISSING_SYSTEM: set[str] = set()
ALLOW_MISSING_SYSTEM = os.environ.get("RUN_TESTS_ALLOW_MISSING_SYSTEM") == "1"
"""Read once at start-up: tests that clear ``QHUB_*`` variables must not turn a skip into
a failure."""
"""Debian packages whose absence made tests skip (reported in the summary)."""


def require_system_binary(name: str, package: str) -> str:
    """The path of ``name`` on PATH; without it, skip (``run-tests`` could not install
    ``package``: not root) or fail (it should have been installed)."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed (Debian package {package}; ./run-tests installs it as root)"
    if ALLOW_MISSING_SYSTEM:
        MISSING_SYSTEM.add(package)
        pytest.skip(message)
    pytest.fail(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming the system packages whose absence made tests skip."""
    if MISSING_SYSTEM:
        skipped = len(terminalreporter.stats.get("skipped", []))
        terminalreporter.write_line(
            f"qhub tests: {skipped} skipped; missing system packages: "
            f"{', '.join(sorted(MISSING_SYSTEM))} (run ./run-tests as root to install them)"
        )


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Each test starts with no remembered secrets and no once-only warnings given."""
    from qhub._redact import forget_secrets
    from qhub._warn import reset_once

    forget_secrets()
    reset_once()
    yield


SIGNALS_SENT = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def signals_deliverable() -> Iterator[None]:
    """Around starting a child the tests send signals to: SIGINT, SIGTERM and SIGHUP not
    ignored, so the child does not inherit them ignored. A shell's background job starts
    with SIGINT ignored and ``nohup`` ignores SIGHUP; qhub rightly leaves an ignored signal
    ignored, so without this such a test waits for a signal that cannot arrive. (Not a
    ``preexec_fn``: the tests' servers run in threads.)"""
    import signal

    saved = {}
    for name in SIGNALS_SENT:
        sig = getattr(signal, name)
        if signal.getsignal(sig) == signal.SIG_IGN:
            saved[sig] = signal.SIG_IGN
            signal.signal(sig, signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server process owned by one test, on its own port."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = require_system_binary("redis-server", "redis-server")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.stop()
        pytest.fail(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server for this test only."""
    server = RedisServer(port=free_port(), workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class BehaveResult:
    """Outcome of one real ``behave`` subprocess run."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_behave(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> BehaveResult:
    """Run real behave in ``project`` (a folder with features/, steps/, environment.py)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("QHUB_", "REDIS_"))}
    full_env.update({"PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"})
    full_env.update(env or {})
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "behave", "--no-color", *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return BehaveResult(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def isolated_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment for a behave run whose qhub files (history, cache, reports) stay in ``root``."""
    env = {
        "QHUB_PROFILING_HISTORY_DB": str(root / ".qhub" / "history.db"),
        "QHUB_CACHE_PATH": str(root / ".qhub" / "cache.db"),
        "QHUB_REPORT_DIR": str(root / "reports"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }
    env.update(extra)
    return env


@pytest.fixture
def qhub_env() -> Callable[..., dict[str, str]]:
    """:func:`isolated_env`: ``qhub_env(root, **extra)``."""
    return isolated_env


@pytest.fixture
def behave_run() -> Callable[..., BehaveResult]:
    """:func:`run_behave`: ``behave_run(project_dir, "-D", "qhub.x=y", env={...})``."""
    return run_behave


@pytest.fixture
def port_factory() -> Callable[[], int]:
    """:func:`free_port`, for tests that start their own servers."""
    return free_port


class FakeClock:
    """A clock tests move by hand (``advance``), injected where code takes ``timer=``/``clock=``."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A :class:`FakeClock` in seconds (the profiler's tests override it with nanoseconds)."""
    return FakeClock()
