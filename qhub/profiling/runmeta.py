"""Run metadata: identity (run and group ids), git commit and branch, host and versions.

Git information is read from the ``.git`` folder directly (no subprocess), so it costs
microseconds and works where the ``git`` binary is missing.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from qhub._redact import redact_text
from qhub._version import __version__


def new_run_id() -> str:
    """A sortable, unique run id: UTC timestamp plus random suffix."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def run_group(run_id: str, environ: dict[str, str] | None = None) -> str:
    """The run-group id shared by parallel workers: ``QHUB_RUN_ID`` if set, else the run's own."""
    env = os.environ if environ is None else environ
    return env.get("QHUB_RUN_ID") or run_id


def git_info(start: Path) -> dict[str, str | None]:
    """``commit`` and ``branch`` of the repository holding ``start`` (``None`` if unknown)."""
    for folder in (start, *start.parents):
        git = folder / ".git"
        if git.is_file():  # worktree or submodule: "gitdir: <path>"
            try:
                target = git.read_text(encoding="utf-8").strip().removeprefix("gitdir:").strip()
            except OSError:
                break
            git = (folder / target).resolve()
        if git.is_dir():
            return _read_head(git)
    return {"commit": None, "branch": None}


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


def _behave_version() -> str | None:
    """behave's version without importlib.metadata (which costs ~40 ms to import)."""
    module = sys.modules.get("behave")
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def collect_meta(root: Path, given: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Everything recorded about a run besides its timings."""
    git = git_info(root)
    return {
        "id": run_id,
        "group": run_group(run_id),
        "mode": given.get("mode"),
        "worker_id": given.get("worker_id") or os.environ.get("QHUB_WORKER_ID"),
        "dry_run": bool(given.get("dry_run", False)),
        "tags": [redact_text(str(t)) for t in given.get("tags", []) or []],
        "names": [redact_text(str(n)) for n in given.get("names", []) or []],
        "paths": [str(p) for p in given.get("paths", []) or []],
        "argv": [redact_text(str(a)) for a in given.get("argv", []) or []],
        "git_commit": git["commit"],
        "git_branch": git["branch"],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": f"{sys.platform}-{platform.machine()}",
        "qhub_version": __version__,
        "behave_version": _behave_version(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
