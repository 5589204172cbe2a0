"""What an import statement costs, measured in isolated subprocesses of the target interpreter.

Each statement (``import selenium.webdriver``, ``from requests import Session``) runs alone
in a fresh ``python -I -X importtime`` (see :mod:`qhub.audit.interpreter`: no project
folder on ``sys.path``, an empty working folder, project modules refused). The self time
of every module it loaded is kept, so costs can be attributed in behave's load order
without double counting. Each uncached statement runs ``repeat`` times and the fastest run
counts: other load on the machine only ever adds time. Results are cached per
interpreter, statement, the module's installed version (or file stamp) and the path.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qhub.audit.cache import JsonCache
from qhub.audit.interpreter import GUARD_MARK, Interpreter, run_isolated

_MARK = "@@qhub-importtime@@"
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( +)(\S.*?)\s*$")
_NAME = r"[A-Za-z_]\w*"
_FORM = re.compile(
    rf"^(?:import {_NAME}(?:\.{_NAME})*"
    rf"|from {_NAME}(?:\.{_NAME})* import (?:\*|{_NAME}(?:, {_NAME})*))$"
)
"""Only plain import statements reach a measuring subprocess."""

_MEASURE = r"""
_s.stderr.write("\n@@qhub-importtime@@\n")
_s.stderr.flush()
exec(compile(_req["form"], "<qhub-audit>", "exec"), {"__name__": "__qhub_audit__"})
_s.stdout.write("\n@@qhub-modules@@ " + " ".join(sorted(_s.modules)) + "\n")
"""

_BASELINE_ENV = """import sys
_names = sorted(sys.modules)  # before this file imports anything itself
import json, os
with open(os.environ["QHUB_BASELINE_OUT"], "w") as fh:
    json.dump(_names, fh)
"""

_BASELINE = r"""
_s.argv = ["behave", "--dry-run", "--no-summary", "--format=null", "--no-capture", "features"]
from behave.__main__ import main as _main
_main()
"""


@dataclass
class Measurement:
    """One import statement, as ``-X importtime`` saw it."""

    form: str
    ok: bool
    self_us: dict[str, int] = field(default_factory=dict)
    """Every module the statement loaded -> its own (self) time in microseconds."""
    cumulative_us: int = 0
    error: str | None = None
    timeout: bool = False
    blocked: bool = False
    """The import would have run a project module (refused by the guard)."""
    cached: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"form": self.form, "ok": self.ok, "self_us": self.self_us,
                "cumulative_us": self.cumulative_us, "error": self.error,
                "blocked": self.blocked}


@dataclass
class Isolation:
    """How measuring subprocesses are isolated from the project."""

    path: list[str]
    """``sys.path`` without project folders."""
    forbidden: list[str]
    allowed: list[str]
    sites: list[str]
    cwd: str

    def request(self, **extra: Any) -> dict[str, Any]:
        return {"path": self.path, "forbidden": self.forbidden, "allowed": self.allowed,
                "sites": self.sites, **extra}


def valid_form(form: str) -> bool:
    return bool(_FORM.match(form))


def parse_importtime(stderr: str) -> tuple[dict[str, int], int]:
    """Self times per module and their total, from ``-X importtime`` output after our mark."""
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


def _loaded_modules(stdout: str) -> set[str] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("@@qhub-modules@@ "):
            return set(line.split()[1:])
    return None


def measure_one(interp: Interpreter, form: str, iso: Isolation, timeout_s: float) -> Measurement:
    """Run ``form`` alone in a fresh isolated interpreter and read its import-time tree."""
    if not valid_form(form):
        return Measurement(form, ok=False, error=f"not a plain import statement: {form!r}")
    try:
        proc = run_isolated(interp.executable, _MEASURE, iso.request(form=form), cwd=iso.cwd,
                            timeout=timeout_s, flags=("-X", "importtime"))
    except subprocess.TimeoutExpired:
        return Measurement(form, ok=False, timeout=True,
                           error=f"import did not finish within {timeout_s:g} s")
    except OSError as exc:
        return Measurement(form, ok=False, error=f"cannot run {interp.executable}: {exc}")
    self_us, total = parse_importtime(proc.stderr)
    loaded = _loaded_modules(proc.stdout)
    if loaded is not None:  # failed attempts (``try: import nt``) are printed too: drop them
        self_us = {name: us for name, us in self_us.items() if name in loaded}
        total = sum(self_us.values())
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines()
                 if ln.strip() and not ln.startswith("import time:") and _MARK not in ln]
        error = (lines or ["import failed"])[-1].strip()[:300]
        return Measurement(form, ok=False, self_us=self_us, cumulative_us=total, error=error,
                           blocked=GUARD_MARK in error)
    return Measurement(form, ok=True, self_us=self_us, cumulative_us=total)


def measure_best(interp: Interpreter, form: str, iso: Isolation, timeout_s: float,
                 repeat: int) -> Measurement:
    """``repeat`` runs, each module's fastest self time kept: other load on the machine only
    ever adds time, and it hits different modules in different runs, so the per-module
    minimum is the best estimate of what the import itself costs."""
    first = measure_one(interp, form, iso, timeout_s)
    runs = [first]
    for _ in range(repeat - 1):
        if not first.ok:
            break
        again = measure_one(interp, form, iso, timeout_s)
        if again.ok:
            runs.append(again)
    if not first.ok or len(runs) == 1:
        return first
    best = {name: min(r.self_us.get(name, us) for r in runs)
            for name, us in first.self_us.items()}
    return Measurement(form, ok=True, self_us=best, cumulative_us=sum(best.values()))


Progress = Callable[[int, int], None]


def measure_all(
    interp: Interpreter,
    forms: Iterable[tuple[str, str]],
    iso: Isolation,
    cache: JsonCache,
    *,
    timeout_s: float,
    jobs: int,
    repeat: int,
    progress: Progress | None = None,
) -> dict[str, Measurement]:
    """Measure every ``(form, fingerprint)`` not already cached, ``jobs`` at a time."""
    results: dict[str, Measurement] = {}
    todo: list[tuple[str, str]] = []
    for form, fingerprint in sorted(set(forms)):
        key = cache.key("measure", interp.executable, interp.version, form, fingerprint,
                        iso.path)
        hit = cache.get(key)
        m = _from_cache(form, hit)
        if m is not None:
            results[form] = m
        else:
            todo.append((form, key))
    done = 0
    if progress is not None:
        progress(done, len(todo))
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(measure_best, interp, form, iso, timeout_s, repeat): (form, key)
                       for form, key in todo}
            for future in as_completed(futures):
                form, key = futures[future]
                m = future.result()
                results[form] = m
                if not m.timeout:
                    cache.put(key, m.as_json())
                done += 1
                if progress is not None:
                    progress(done, len(todo))
    return results


def _from_cache(form: str, hit: dict[str, Any] | None) -> Measurement | None:
    if hit is None:
        return None
    try:
        return Measurement(
            form, ok=bool(hit["ok"]),
            self_us={str(k): int(v) for k, v in hit["self_us"].items()},
            cumulative_us=int(hit["cumulative_us"]), error=hit.get("error"),
            blocked=bool(hit.get("blocked")), cached=True,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def behave_baseline(interp: Interpreter, iso: Isolation, cache: JsonCache) -> set[str]:
    """Modules behave has already imported when it executes ``environment.py``.

    Found by running the target's real behave (``--dry-run``) on a throw-away one-scenario
    project whose environment.py records ``sys.modules``; cached per interpreter, behave
    version and path.
    """
    if interp.behave_version is None:
        return set()
    key = cache.key("baseline-2", interp.executable, interp.version, interp.behave_version,
                    iso.path)
    hit = cache.get(key)
    if hit is not None and isinstance(hit.get("modules"), list):
        return {str(m) for m in hit["modules"]}
    with tempfile.TemporaryDirectory(prefix="qhub-baseline-") as tmp:
        folder = Path(tmp)
        (folder / "features" / "steps").mkdir(parents=True)
        (folder / "features" / "environment.py").write_text(_BASELINE_ENV, encoding="utf-8")
        (folder / "features" / "b.feature").write_text(
            "Feature: b\n  Scenario: s\n    Given nothing\n", encoding="utf-8")
        out = folder / "modules.json"
        try:
            run_isolated(interp.executable, _BASELINE, iso.request(), cwd=str(folder),
                         timeout=120, env={"QHUB_BASELINE_OUT": str(out)})
            import json

            names = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return set()
    if not isinstance(names, list):
        return set()
    cache.put(key, {"modules": names})
    return {str(n) for n in names}


def default_jobs() -> int:
    """Half the cores: measurements side by side slow each other down (bench/audit.py)."""
    return max(1, (os.cpu_count() or 2) // 2)


