"""Where a run came from: its run and part ids, CI pipeline, git state, host and versions.

**Run grouping.** Several processes can make up one run: behavex workers, or workers that
share ``QHUB_RUN_ID``. Each process records a *part*; parts with the same run id are one
run (one history entry, one report). The run id is, in order:

1. ``QHUB_RUN_ID`` when set (source ``QHUB_RUN_ID``);
2. for one shard of a CI pipeline (the shard variables :func:`ci_shard` reads, the same
   ones ``qhub shard`` reads, say N > 1 shards, and the pipeline is known), the pipeline:
   every shard, and every behavex worker inside one, is a part of one run (source
   ``shard``); each part records its shard as its *lane*, so the run's wall time is its
   slowest shard, not the sum;
3. for a behavex worker (a ``behave_worker-N`` process of behavex's pool, found with no
   variable to set), the behavex process itself: host, parent pid and the parent's start
   time (source ``behavex``);
4. otherwise the part's own id (source ``own``).

The CI pipeline (``GITHUB_RUN_ID`` + ``GITHUB_RUN_ATTEMPT``, ``CI_PIPELINE_ID``, ...;
``QHUB_PIPELINE_ID`` wins) is also recorded as
:attr:`~qhub.profiling.record.RunMeta.pipeline` on every run, so ``qhub report --group``
can bring together the runs of one pipeline that were not sharded with ``qhub shard``'s
variables (separate jobs running separate paths), without merging them in the history.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub._record import frozen_record
from qhub._redact import redact_text
from qhub._version import __version__
from qhub.profiling._clean import normalize_tags

if TYPE_CHECKING:  # the record types load at the end of the run, not at its start
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


@frozen_record
class Group:
    """The run a process belongs to."""

    id: str
    source: str
    """``QHUB_RUN_ID``, ``shard``, ``behavex`` or ``own``."""
    worker_id: str | None = None
    coordinated: bool = False
    """True for behavex workers: the last worker to exit writes the run's report."""
    shard: str | None = None
    """``I/N`` for CI shard I of N (the part's lane)."""


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
    shard = _shard_quietly(env)
    lane = shard.label if shard is not None else None
    if explicit:
        return Group(_safe_id(explicit), "QHUB_RUN_ID", worker_env, shard=lane)
    worker = behavex_worker(env)
    pipeline = ci_pipeline(env)
    if shard is not None and pipeline is not None:
        name = f"shard-{shard.index}" + (f"/worker-{worker}" if worker is not None else "")
        return Group(pipeline, "shard", worker_env or name, worker is not None, shard=lane)
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


def ci_pipeline(environ: Mapping[str, str] | None = None, *, attempt: bool = True) -> str | None:
    """The CI pipeline this run belongs to (``QHUB_PIPELINE_ID`` wins), else ``None``.

    ``attempt=False`` leaves out GitHub's run attempt: a re-run of failed jobs is a new
    attempt of the same pipeline, whose shards must split the suite as the first did.
    """
    env = os.environ if environ is None else environ
    given = env.get("QHUB_PIPELINE_ID", "").strip()
    if given:
        return _safe_id(given)
    for name, keys in _PIPELINES:
        if env.get(keys[1] if name == "github" else keys[-1]):
            if name == "github" and env.get("GITHUB_ACTIONS") != "true":
                continue
            used = keys[:-1] if name == "github" and not attempt else keys
            return _safe_id(f"{name}:" + "-".join(env.get(k, "") for k in used))
    return None


# -- CI shards ---------------------------------------------------------------------------------


@frozen_record
class Shard:
    """This job's shard: ``index`` from 1 to ``total``, and where that was read."""

    index: int
    total: int
    source: str

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"


SHARD_VARIABLES: tuple[tuple[str, str, str, int], ...] = (
    ("CI_NODE_TOTAL", "CI_NODE_INDEX", "GitLab parallel: (or set by hand: Jenkins, GitHub)", 1),
    ("BUILDKITE_PARALLEL_JOB_COUNT", "BUILDKITE_PARALLEL_JOB", "Buildkite parallelism", 0),
    ("CIRCLE_NODE_TOTAL", "CIRCLE_NODE_INDEX", "CircleCI parallelism", 0),
    ("SYSTEM_TOTALJOBSINPHASE", "SYSTEM_JOBPOSITIONINPHASE", "Azure Pipelines parallel", 1),
)
"""(total variable, index variable, where it comes from, the index of the first shard).
qhub numbers shards from 1; CIs that count from 0 are converted."""

MAX_SHARDS = 10_000


class ShardError(ValueError):
    """Shard variables or options that do not describe one shard of N."""


def _whole(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ShardError(f"{name}={text!r} is not a whole number") from None


def shard_from(total: int, index: int, source: str) -> Shard:
    """A validated shard (``index`` from 1): :class:`ShardError` when out of range."""
    if not 1 <= total <= MAX_SHARDS:
        raise ShardError(f"{source}: the number of shards must be 1 to {MAX_SHARDS}, got {total}")
    if not 1 <= index <= total:
        raise ShardError(
            f"{source}: shard index {index} is outside 1..{total} (qhub counts shards from 1)"
        )
    return Shard(index, total, source)


def ci_shard(environ: Mapping[str, str] | None = None) -> Shard | None:
    """This CI job's shard from the first pair of :data:`SHARD_VARIABLES` that is set.

    ``None`` when none is; :class:`ShardError` when a pair is half set or out of range.
    """
    env = os.environ if environ is None else environ
    for total_name, index_name, _, first in SHARD_VARIABLES:
        total_text, index_text = env.get(total_name, ""), env.get(index_name, "")
        if not total_text.strip() and not index_text.strip():
            continue
        if not total_text.strip() or not index_text.strip():
            missing = index_name if total_text.strip() else total_name
            raise ShardError(f"{missing} is not set (needed with the other of the pair)")
        total = _whole(total_name, total_text)
        index = _whole(index_name, index_text) + (1 - first)
        return shard_from(total, index, f"{index_name}/{total_name}")
    return None


def _shard_quietly(env: Mapping[str, str]) -> Shard | None:
    """The shard of a behave run (N > 1 only); bad variables are said once, never raised."""
    try:
        shard = ci_shard(env)
    except ShardError as exc:
        from qhub._warn import warn

        warn(f"{exc}; this run is not treated as a CI shard", once=f"shard-vars:{exc}")
        return None
    return shard if shard is not None and shard.total > 1 else None


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
    from qhub.profiling.record import RunMeta

    return RunMeta(
        id=group.id,
        part=part_id,
        group_source=group.source,
        pipeline=ci_pipeline(),
        shard=group.shard,
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
