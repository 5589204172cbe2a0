"""Where a run came from: its run and part ids, CI pipeline, git state, host and versions.

**Run grouping.** Several processes can make up one run: behavex workers, or workers that
share ``QHUB_RUN_ID``. Each process records a *part*; parts with the same run id are one
run (one history entry, one report). The run id is, in order:

1. ``QHUB_RUN_ID`` when set (source ``QHUB_RUN_ID``);
2. for a behavex worker (a ``behave_worker-N`` process of behavex's pool, found with no
   variable to set), the behavex process itself: host, parent pid and the parent's start
   time (source ``behavex``);
3. otherwise the part's own id (source ``own``).

The CI pipeline (``GITHUB_RUN_ID`` + ``GITHUB_RUN_ATTEMPT``, ``CI_PIPELINE_ID``, ...) is
recorded separately as :attr:`~qhub.profiling.record.RunMeta.pipeline`, so the runs of
several CI shards can be brought together later without merging unrelated runs of one job.

**Git.** Commit and branch are read from ``.git`` directly (microseconds, no ``git``
binary needed). Whether the working tree had uncommitted changes needs ``git status``: it
is started when the run starts (:func:`start_dirty_check`), runs alongside the suite, and
is collected at the end with a bounded wait; when git is missing or slow, it is unknown.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qhub._redact import redact_text
from qhub._version import __version__
from qhub.profiling._clean import normalize_tags
from qhub.profiling.record import RunMeta

MAX_ID_CHARS = 200
DIRTY_CHECK_TIMEOUT_S = 3.0
"""Longest ``git status`` may take (started with the run, so usually already done)."""


def new_part_id() -> str:
    """A sortable, unique id: UTC timestamp plus random suffix."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _safe_id(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._:@+=-]+", "-", text.strip())[:MAX_ID_CHARS]
    return cleaned.strip("-") or "run"


# -- grouping ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """The run a process belongs to."""

    id: str
    source: str
    """``QHUB_RUN_ID``, ``behavex`` or ``own``."""
    worker_id: str | None = None
    coordinated: bool = False
    """True for behavex workers: the last worker to exit writes the run's report."""


def behavex_worker(environ: Mapping[str, str] | None = None) -> str | None:
    """The worker index when this process is a behavex pool worker, else ``None``."""
    env = os.environ if environ is None else environ
    try:
        import multiprocessing

        name = multiprocessing.current_process().name
    except Exception:  # multiprocessing unusable here: not a pool worker
        return None
    if name.startswith("behave_worker-"):
        return name.rsplit("-", 1)[-1]
    if "BEHAVEX_PATH" in env and name != "MainProcess":
        return name
    return None


def _process_start_ticks(pid: int) -> str | None:
    """Start time of ``pid`` (clock ticks since boot, from /proc), else psutil, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil

        return str(int(psutil.Process(pid).create_time() * 100))
    except Exception:  # psutil missing or the parent is gone
        return None


def detect_group(part_id: str, environ: Mapping[str, str] | None = None) -> Group:
    """Which run this process's part belongs to (see the module docstring)."""
    env = os.environ if environ is None else environ
    worker_env = env.get("QHUB_WORKER_ID") or None
    explicit = env.get("QHUB_RUN_ID", "").strip()
    if explicit:
        return Group(_safe_id(explicit), "QHUB_RUN_ID", worker_env)
    worker = behavex_worker(env)
    if worker is not None:
        ppid = os.getppid()
        started = _process_start_ticks(ppid) or "0"
        host = _safe_id(socket.gethostname())
        return Group(
            f"behavex-{host}-{ppid}-{started}", "behavex", worker_env or f"worker-{worker}", True
        )
    return Group(part_id, "own", worker_env)


_PIPELINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("github", ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT")),
    ("gitlab", ("CI_PROJECT_ID", "CI_PIPELINE_ID")),
    ("buildkite", ("BUILDKITE_BUILD_ID",)),
    ("circleci", ("CIRCLE_WORKFLOW_ID",)),
    ("azure", ("SYSTEM_TEAMPROJECTID", "BUILD_BUILDID")),
    ("jenkins", ("BUILD_TAG",)),
)


def ci_pipeline(environ: Mapping[str, str] | None = None) -> str | None:
    """The CI pipeline this run belongs to (``QHUB_PIPELINE_ID`` wins), else ``None``."""
    env = os.environ if environ is None else environ
    given = env.get("QHUB_PIPELINE_ID", "").strip()
    if given:
        return _safe_id(given)
    for name, keys in _PIPELINES:
        if env.get(keys[-1]):
            if name == "github" and env.get("GITHUB_ACTIONS") != "true":
                continue
            return _safe_id(f"{name}:" + "-".join(env.get(k, "") for k in keys))
    return None


# -- git ---------------------------------------------------------------------------------------


def git_info(start: Path) -> dict[str, str | None]:
    """``commit``, ``branch`` and ``top`` (work tree) of the repository holding ``start``."""
    for folder in (start, *start.parents):
        git = folder / ".git"
        if git.is_file():  # worktree or submodule: "gitdir: <path>"
            try:
                target = git.read_text(encoding="utf-8").strip().removeprefix("gitdir:").strip()
            except OSError:
                break
            git = (folder / target).resolve()
        if git.is_dir():
            return {**_read_head(git), "top": str(folder)}
    return {"commit": None, "branch": None, "top": None}


def _read_head(git: Path) -> dict[str, str | None]:
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return {"commit": None, "branch": None}
    if not head.startswith("ref:"):
        return {"commit": head, "branch": None}
    ref = head[4:].strip()
    branch = ref.removeprefix("refs/heads/")
    common = git
    commondir = git / "commondir"
    if commondir.is_file():
        common = (git / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git, common):
        try:
            return {"commit": (base / ref).read_text(encoding="utf-8").strip(), "branch": branch}
        except OSError:
            continue
    try:
        for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return {"commit": line.split()[0], "branch": branch}
    except OSError:
        pass
    return {"commit": None, "branch": branch}


class DirtyCheck:
    """``git status`` running in the background; :meth:`result` waits a bounded time."""

    def __init__(self, proc: subprocess.Popen[bytes] | None, started: float) -> None:
        self._proc = proc
        self._started = started
        self._result: bool | None = None
        self._done = proc is None

    def result(self, timeout_s: float = DIRTY_CHECK_TIMEOUT_S) -> bool | None:
        """True: tracked files changed; False: clean; None: unknown (no git, error, slow)."""
        if self._done:
            return self._result
        self._done = True
        proc = self._proc
        assert proc is not None
        remaining = max(0.05, timeout_s - (time.monotonic() - self._started))
        try:
            out, _ = proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.communicate(timeout=1)
            return None
        if proc.returncode == 0:
            self._result = bool(out.strip())
        return self._result


def start_dirty_check(root: Path) -> DirtyCheck:
    """Start ``git status`` for the repository holding ``root`` (nothing when none/no git)."""
    started = time.monotonic()
    top = git_info(root)["top"]
    git = shutil.which("git") if top else None
    if git is None or top is None:
        return DirtyCheck(None, started)
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.Popen(
            [git, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=top,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:
        return DirtyCheck(None, started)
    return DirtyCheck(proc, started)


# -- tags and versions -------------------------------------------------------------------------


def _behave_version() -> str | None:
    """behave's version without importlib.metadata (which costs ~40 ms to import)."""
    module = sys.modules.get("behave")
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def _texts(values: Any) -> tuple[str, ...]:
    if not values:
        return ()
    return tuple(redact_text(str(v)) for v in values)


def collect_meta(
    given: Mapping[str, Any],
    *,
    part_id: str,
    group: Group,
    git: Mapping[str, str | None],
    dirty: bool | None,
    started_at: str | None = None,
) -> RunMeta:
    """Identity and provenance of this process's part of the run (status set later)."""
    return RunMeta(
        id=group.id,
        part=part_id,
        group_source=group.source,
        pipeline=ci_pipeline(),
        worker_id=str(given.get("worker_id") or group.worker_id or "") or None,
        mode=str(given["mode"]) if given.get("mode") else None,
        dry_run=bool(given.get("dry_run", False)),
        tags=normalize_tags(given.get("tags")),
        names=_texts(given.get("names")),
        paths=tuple(str(p) for p in given.get("paths") or ()),
        argv=_texts(given.get("argv")),
        git_commit=git.get("commit"),
        git_branch=git.get("branch"),
        git_dirty=dirty,
        host=socket.gethostname(),
        pid=os.getpid(),
        python=platform.python_version(),
        implementation=sys.implementation.name,
        platform=f"{sys.platform}-{platform.machine()}",
        qhub_version=__version__,
        behave_version=_behave_version(),
        started_at=started_at,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
