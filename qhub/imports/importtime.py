"""Measure what importing a module costs, in isolated subprocesses of the target interpreter.

Each module is imported alone with ``python -X importtime -c "import mod"`` and the
per-module *self* times of everything it pulled in are kept, so costs can later be
attributed in behave's load order without double counting. Results are cached on disk,
keyed by interpreter, interpreter version, module and the installed distribution version.
User code is never run here: :func:`probe` only locates modules (``find_spec`` on top-level
names executes nothing) and modules that live in the project are reported as ``local``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qhub.exceptions import AuditError

_MARK = "@@qhub-importtime@@"
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( +)(\S.*?)\s*$")
_CACHE_FORMAT = 1
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
"""Only dotted identifiers reach the ``-c`` code of a measuring subprocess."""

_PROBE = r"""
import importlib.util, json, os, site, sys
req = json.loads(sys.argv[1])
sys.path[0:0] = req["path"]
try:
    from importlib.metadata import packages_distributions, version
    dists = packages_distributions()
except Exception:
    dists, version = {}, None
prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
try:
    prefixes.update(os.path.realpath(p) for p in site.getsitepackages())
except Exception:
    pass
out = {"executable": os.path.abspath(sys.executable), "version": sys.version.split()[0],
       "version_info": list(sys.version_info[:2]), "prefixes": sorted(prefixes),
       "stdlib": sorted(getattr(sys, "stdlib_module_names", ())), "modules": {}}
for top in req["tops"]:
    info = {"kind": "missing", "origin": None, "dist": None}
    try:
        if top in sys.builtin_module_names:
            info["kind"] = "builtin"
        else:
            spec = importlib.util.find_spec(top)
            if spec is not None:
                origin = spec.origin if spec.has_location else None
                if origin is None and spec.submodule_search_locations:
                    origin = list(spec.submodule_search_locations)[0]
                info["origin"] = os.path.realpath(origin) if origin else None
                std = getattr(sys, "stdlib_module_names", ())
                info["kind"] = "stdlib" if top in std else "file"
                names = dists.get(top) or []
                if names and version is not None:
                    info["dist"] = names[0] + "==" + version(names[0])
                    info["kind"] = "dist"
                if info["origin"]:
                    try:
                        st = os.stat(info["origin"])
                        info["stamp"] = [st.st_mtime_ns, st.st_size]
                    except OSError:
                        pass
    except Exception as exc:
        info = {"kind": "error", "origin": None, "dist": None, "error": repr(exc)}
    out["modules"][top] = info
try:
    out["behave"] = version("behave") if version is not None else None
except Exception:
    out["behave"] = None
deps = []
for entry in sys.path:
    try:
        deps.append([os.path.abspath(entry or "."), os.stat(entry or ".").st_mtime_ns])
    except OSError:
        deps.append([os.path.abspath(entry or "."), None])
out["deps"] = deps
print(json.dumps(out))
"""

_BASELINE_ENV = """import json, os, sys
with open(os.environ["QHUB_BASELINE_OUT"], "w") as fh:
    json.dump(sorted(sys.modules), fh)
"""


@dataclass
class Probe:
    """Where the target interpreter finds each top-level module, and what it is."""

    executable: str
    version: str
    version_info: tuple[int, int]
    behave_version: str | None
    prefixes: list[str]
    modules: dict[str, dict[str, Any]]

    def is_local(self, top: str, root: Path) -> bool:
        """A module found inside the project and owned by no installed distribution."""
        info = self.modules.get(top, {})
        origin = info.get("origin")
        if not origin or info.get("kind") in ("dist", "stdlib", "builtin"):
            return False
        real_root = os.path.realpath(root)
        if not _under(origin, real_root):
            return False
        return not any(_under(origin, p) for p in self.prefixes if _under(p, real_root))

    def fingerprint(self, top: str) -> str:
        info = self.modules.get(top, {})
        kind = str(info.get("kind", "missing"))
        if kind == "dist":
            return f"dist:{info.get('dist')}"
        if kind in ("stdlib", "builtin"):
            return f"{kind}:{self.version}"
        if kind == "file":
            return f"file:{info.get('origin')}:{info.get('stamp')}"
        return kind


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass
class Measurement:
    """One module's import, as ``-X importtime`` saw it."""

    module: str
    ok: bool
    self_us: dict[str, int] = field(default_factory=dict)
    """Every module the import loaded -> its own (self) time in microseconds."""
    cumulative_us: int = 0
    error: str | None = None
    timeout: bool = False
    cached: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "module": self.module, "ok": self.ok,
            "self_us": self.self_us, "cumulative_us": self.cumulative_us, "error": self.error,
        }


def subprocess_env(extra_path: Sequence[str]) -> dict[str, str]:
    """Environment for measuring subprocesses: ``extra_path`` first on PYTHONPATH."""
    env = dict(os.environ)
    parts = [*extra_path, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _still_valid(data: dict[str, Any]) -> bool:
    """A cached probe holds while no folder on the interpreter's sys.path changed (installs
    and removals change site-packages) and no located module file changed."""
    for folder, stamp in data.get("deps", []):
        if _stamp(folder) != stamp:
            return False
    for info in data["modules"].values():
        origin, stamp = info.get("origin"), info.get("stamp")
        if origin and stamp and _stamp(origin) != stamp[0]:
            return False
    return True


def probe(
    python: str,
    tops: Iterable[str],
    extra_path: Sequence[str],
    cwd: Path,
    cache: ImportTimeCache | None = None,
) -> Probe:
    """Ask the target interpreter where each top-level name resolves (nothing is imported).

    With a ``cache`` the answer is reused while :func:`_still_valid` holds.
    """
    request = json.dumps({"path": list(extra_path), "tops": sorted(set(tops))})
    key = hashlib.sha256(json.dumps(["probe", python, str(cwd), request]).encode()).hexdigest()
    cached = cache.get(key[:40]) if cache is not None else None
    probed = cached.get("probe") if cached is not None else None
    if isinstance(probed, dict) and _still_valid(probed):
        return _probe_from(probed)
    data = _run_probe(python, request, extra_path, cwd)
    if cache is not None:
        cache.put(key[:40], {"probe": data})
    return _probe_from(data)


def _probe_from(data: dict[str, Any]) -> Probe:
    return Probe(
        executable=data["executable"], version=data["version"],
        version_info=(int(data["version_info"][0]), int(data["version_info"][1])),
        behave_version=data.get("behave"), prefixes=data["prefixes"], modules=data["modules"],
    )


def _run_probe(python: str, request: str, extra_path: Sequence[str], cwd: Path) -> Any:
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE, request], capture_output=True, text=True, timeout=60,
            cwd=cwd, env=subprocess_env(extra_path), check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuditError(f"cannot run interpreter {python!r}: {exc}") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AuditError(f"interpreter {python!r} failed to start: {last}")
    return json.loads(proc.stdout)


def parse_importtime(stderr: str) -> tuple[dict[str, int], int]:
    """Self times per module and the total, from ``-X importtime`` output after our marker."""
    _, _, tail = stderr.partition(_MARK)
    self_us: dict[str, int] = {}
    total = 0
    for line in tail.splitlines():
        m = _LINE.match(line)
        if m:
            name = m.group(4)
            if name not in self_us:
                self_us[name] = int(m.group(1))
                total += int(m.group(1))
    return self_us, total


def measure_best(
    python: str, module: str, extra_path: Sequence[str], cwd: Path, timeout_s: float,
    *, repeat: int = 3,
) -> Measurement:
    """The fastest of ``repeat`` measurements: other load on the machine only ever adds
    time, so the minimum is the best estimate of the import's own cost."""
    best = measure_one(python, module, extra_path, cwd, timeout_s)
    for _ in range(repeat - 1):
        if not best.ok:
            break
        again = measure_one(python, module, extra_path, cwd, timeout_s)
        if again.ok and again.cumulative_us < best.cumulative_us:
            best = again
    return best


def measure_one(
    python: str, module: str, extra_path: Sequence[str], cwd: Path, timeout_s: float
) -> Measurement:
    """Import ``module`` alone in a fresh interpreter and read its import-time tree."""
    if not _MODULE_NAME.match(module):
        return Measurement(module, ok=False, error=f"not a module name: {module!r}")
    code = f"import sys; sys.stderr.write('\\n{_MARK}\\n'); import {module}"
    try:
        proc = subprocess.run(
            [python, "-X", "importtime", "-c", code], capture_output=True, text=True,
            timeout=timeout_s, cwd=cwd, env=subprocess_env(extra_path), check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Measurement(module, ok=False, timeout=True,
                           error=f"import did not finish within {timeout_s:g} s")
    except OSError as exc:
        return Measurement(module, ok=False, error=f"cannot run {python}: {exc}")
    self_us, total = parse_importtime(proc.stderr)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln and not ln.startswith("import time:")]
        return Measurement(module, ok=False, self_us=self_us, cumulative_us=total,
                           error=(lines or ["import failed"])[-1].strip()[:300])
    return Measurement(module, ok=True, self_us=self_us, cumulative_us=total)


class ImportTimeCache:
    """Measurements on disk, one small JSON file per (interpreter, module, version) key."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def key(self, probe: Probe, module: str) -> str:
        top = module.split(".", maxsplit=1)[0]
        raw = json.dumps([probe.executable, probe.version, module, probe.fingerprint(top)])
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("format") == _CACHE_FORMAT else None

    def put(self, key: str, data: dict[str, Any]) -> None:
        """Store ``data`` (a JSON object) under ``key``, atomically."""
        if self.folder is None:
            return
        data = {**data, "format": _CACHE_FORMAT}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.folder / f"{key}.json")
        except OSError:
            return  # a cache that cannot be written only costs speed


def measure_all(
    python: str,
    modules: Iterable[str],
    probe_result: Probe,
    extra_path: Sequence[str],
    cwd: Path,
    *,
    cache: ImportTimeCache,
    timeout_s: float,
    jobs: int,
    repeat: int = 3,
    runner: Callable[..., Measurement] = measure_best,
) -> dict[str, Measurement]:
    """Measure every module not already cached, ``jobs`` subprocesses at a time."""
    results: dict[str, Measurement] = {}
    todo: list[tuple[str, str]] = []
    for module in sorted(set(modules)):
        key = cache.key(probe_result, module)
        hit = cache.get(key)
        if hit is not None and "self_us" in hit:
            results[module] = Measurement(
                module, ok=bool(hit["ok"]), self_us={k: int(v) for k, v in hit["self_us"].items()},
                cumulative_us=int(hit["cumulative_us"]), error=hit.get("error"), cached=True,
            )
        else:
            todo.append((module, key))
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(runner, python, module, extra_path, cwd, timeout_s, repeat=repeat):
                (module, key)
                for module, key in todo
            }
            for future, (module, key) in futures.items():
                m = future.result()
                results[module] = m
                if not m.timeout:
                    cache.put(key, m.as_json())
    return results


def behave_baseline(python: str, probe_result: Probe, cache: ImportTimeCache) -> set[str]:
    """Modules behave has already imported when it executes ``environment.py``.

    Found by running real behave (``--dry-run``) on a throw-away one-scenario project whose
    environment.py records ``sys.modules``; cached per interpreter and behave version.
    """
    if probe_result.behave_version is None:
        return set()
    raw = json.dumps(["baseline", probe_result.executable, probe_result.version,
                      probe_result.behave_version])
    key = hashlib.sha256(raw.encode()).hexdigest()[:40]
    hit = cache.get(key)
    if hit is not None and isinstance(hit.get("modules"), list):
        return set(hit["modules"])
    with tempfile.TemporaryDirectory(prefix="qhub-baseline-") as tmp:
        folder = Path(tmp)
        (folder / "features" / "steps").mkdir(parents=True)
        (folder / "features" / "environment.py").write_text(_BASELINE_ENV, encoding="utf-8")
        (folder / "features" / "b.feature").write_text(
            "Feature: b\n  Scenario: s\n    Given nothing\n", encoding="utf-8"
        )
        out = folder / "modules.json"
        env = subprocess_env([])
        env["QHUB_BASELINE_OUT"] = str(out)
        try:
            subprocess.run(
                [python, "-m", "behave", "--dry-run", "--no-summary", "--format=null",
                 "--no-capture", "features"],
                cwd=folder, env=env, capture_output=True, timeout=120, check=False,
            )
            names = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return set()
    cache.put(key, {"modules": names})
    return set(names)


def default_python() -> str:
    return sys.executable
