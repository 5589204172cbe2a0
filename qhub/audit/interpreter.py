"""The target interpreter, asked only what cannot be known statically, never running
project code.

- :func:`probe` reads its ``sys.path`` (as behave would start with it: ``PYTHONPATH``
  included, relative entries taken from the project root), prefixes, standard-library and
  built-in module names and behave's version. It runs in an empty temporary folder.
- :func:`resolve` asks where top-level names are found on the part of that path that is
  not the project's (``importlib.util.find_spec`` on top-level names executes nothing).
- :func:`run_isolated` starts every other subprocess (measuring, behave's baseline, the
  step oracle): ``python -I`` (no ``PYTHONPATH``, no user site, no script folder), an
  explicit ``sys.path`` without project folders, an empty working folder, and an import
  guard first on ``sys.meta_path`` that refuses any module whose file lies in a project
  folder. Project code therefore cannot run, whatever the installed code imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qhub._record import frozen_record
from qhub.audit.cache import JsonCache
from qhub.exceptions import AuditError

GUARD_MARK = "qhub-audit-guard"
"""Start of the ImportError the guard raises (the audit reads it back)."""

_INFO = r"""
import json, os, site, sys
paths = [p for p in sys.path[1:]]
try:
    from importlib.metadata import version
    behave = version("behave")
except Exception:
    behave = None
sites = []
try:
    sites.extend(site.getsitepackages())
except Exception:
    pass
try:
    user = site.getusersitepackages()
    if user and site.ENABLE_USER_SITE:
        sites.append(user)
except Exception:
    pass
real = os.path.realpath
print(json.dumps({
    "executable": os.path.abspath(sys.executable),
    "version": sys.version.split()[0],
    "version_info": list(sys.version_info[:2]),
    "path": [os.path.abspath(p) for p in paths if p],
    "prefixes": sorted({real(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}),
    "sites": [real(s) for s in sites],
    "stdlib": sorted(getattr(sys, "stdlib_module_names", ())),
    "builtins": sorted(sys.builtin_module_names),
    "behave": behave,
}))
"""

_BOOT = r"""
import os as _o, sys as _s
_req = __REQUEST__
_s.path[:] = _req["path"]
if any(_p in _s.path for _p in _req.get("sites", ())):
    import site as _site
    for _p in _req["sites"]:
        if _p in _s.path:
            _site.addsitedir(_p)
class _QhubGuard:
    busy = False
    def __init__(self, forbidden, allowed):
        self.forbidden = [f.rstrip(_o.sep) + _o.sep for f in forbidden]
        self.allowed = [a.rstrip(_o.sep) + _o.sep for a in allowed]
    def refused(self, location):
        loc = _o.path.realpath(location) + _o.sep
        deny = max((len(f) for f in self.forbidden if loc.startswith(f)), default=0)
        allow = max((len(a) for a in self.allowed if loc.startswith(a)), default=0)
        return deny > allow
    def find_spec(self, name, path=None, target=None):
        if self.busy:
            return None
        self.busy = True
        try:
            spec = None
            for finder in _s.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        finally:
            self.busy = False
        if spec is None:
            return None
        places = [spec.origin] if spec.has_location and spec.origin else []
        places += list(spec.submodule_search_locations or [])
        for place in places:
            if self.refused(place):
                raise ImportError("GUARD: refused to import project module %r from %s"
                                  % (name, place))
        return spec
_s.meta_path.insert(0, _QhubGuard(_req["forbidden"], _req["allowed"]))
""".replace("GUARD", GUARD_MARK)

_RESOLVE = r"""
import importlib.machinery, importlib.util, json, os, sys
out = {}
for name in _req["names"]:
    info = {"kind": "missing"}
    try:
        if name in sys.builtin_module_names:
            info = {"kind": "builtin"}
        elif importlib.machinery.FrozenImporter.find_spec(name) is not None:
            info = {"kind": "frozen"}
        else:
            spec = importlib.util.find_spec(name)
            if spec is not None:
                origin = spec.origin if spec.has_location else None
                locs = [os.path.realpath(p) for p in (spec.submodule_search_locations or [])]
                info = {"kind": "found", "origin": os.path.realpath(origin) if origin else None,
                        "locations": locs, "package": spec.submodule_search_locations is not None}
    except Exception as exc:
        info = {"kind": "error", "error": "%s: %s" % (type(exc).__name__, exc)}
    out[name] = info
print(json.dumps(out))
"""


@frozen_record(slots=False)
class Interpreter:
    """What the audit knows about the interpreter behave runs on."""

    executable: str
    version: str
    version_info: tuple[int, int]
    behave_version: str | None
    path: tuple[str, ...]
    """``sys.path`` at start-up (before behave adds the project's folders)."""
    prefixes: tuple[str, ...]
    sites: tuple[str, ...]
    stdlib: frozenset[str]
    builtins: frozenset[str]

    @property
    def behave_info(self) -> tuple[int, ...]:
        """behave's version as numbers (``(1, 2, 6)``), or ``()`` when behave is missing."""
        if not self.behave_version:
            return ()
        out: list[int] = []
        for part in self.behave_version.split("."):
            digits = "".join(ch for ch in part if ch.isdigit())
            if not digits:
                break
            out.append(int(digits))
        return tuple(out)

    @property
    def installed_roots(self) -> tuple[str, ...]:
        """Folders whose modules count as installed, even inside the project folder."""
        return tuple(sorted({*self.prefixes, *self.sites}))


@dataclass
class Resolution:
    """Where the interpreter finds one top-level name outside the project's folders."""

    kind: str
    """``builtin``, ``frozen``, ``found``, ``missing`` or ``error``."""
    origin: str | None = None
    locations: list[str] = field(default_factory=list)
    package: bool = False
    error: str | None = None


def neutral_folder() -> str:
    """An empty folder to run subprocesses in (so nothing is found in the working folder)."""
    return tempfile.mkdtemp(prefix="qhub-audit-")


_DROPPED = ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONSAFEPATH", "PYTHONINSPECT",
            "PYTHONBREAKPOINT", "PYTHONWARNINGS")


def _env(pythonpath: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def probe(python: str, root: Path, cache: JsonCache, cwd: str) -> Interpreter:
    """Ask ``python`` for its start-up ``sys.path`` and module names (cached while the
    interpreter and the folders on its path are unchanged)."""
    raw = os.environ.get("PYTHONPATH", "")
    pythonpath = os.pathsep.join(
        os.path.normpath(os.path.join(root, p)) if p else str(root)
        for p in raw.split(os.pathsep)
    ) if raw else ""
    key = cache.key("interpreter", python, pythonpath)
    hit = cache.get(key)
    if hit is not None and _still_valid(hit):
        try:
            return _interpreter(hit["info"])
        except AuditError:
            pass  # a damaged cache entry is a miss
    info = _run_json(python, ["-c", _INFO], cwd=cwd, env=_env(pythonpath), timeout=60)
    stamps = [[p, _stamp(p)] for p in [python, info["executable"], *info["path"]]]
    cache.put(key, {"info": info, "stamps": stamps})
    return _interpreter(info)


def _still_valid(hit: dict[str, Any]) -> bool:
    stamps = hit.get("stamps")
    if not isinstance(stamps, list) or not isinstance(hit.get("info"), dict):
        return False
    return all(isinstance(s, list) and len(s) == 2 and _stamp(str(s[0])) == s[1] for s in stamps)


def _interpreter(info: dict[str, Any]) -> Interpreter:
    try:
        return Interpreter(
            executable=str(info["executable"]),
            version=str(info["version"]),
            version_info=(int(info["version_info"][0]), int(info["version_info"][1])),
            behave_version=info.get("behave"),
            path=tuple(str(p) for p in info["path"]),
            prefixes=tuple(str(p) for p in info["prefixes"]),
            sites=tuple(str(p) for p in info.get("sites", [])),
            stdlib=frozenset(info.get("stdlib", ())),
            builtins=frozenset(info.get("builtins", ())),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AuditError(f"unexpected answer from the interpreter probe: {exc!r}") from None


def resolve(
    interp: Interpreter,
    names: Iterable[str],
    path: Sequence[str],
    cache: JsonCache,
    cwd: str,
) -> dict[str, Resolution]:
    """Where each top-level name is found on ``path`` (the non-project part of behave's
    ``sys.path``); cached while none of those folders changed."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    key = cache.key("resolve", interp.executable, interp.version, list(path), wanted)
    hit = cache.get(key)
    if hit is not None and _still_valid(hit) and isinstance(hit.get("info"), dict):
        data = hit["info"]
    else:
        request = {"path": list(path), "sites": list(interp.sites), "forbidden": [],
                   "allowed": [], "names": wanted}
        data = run_isolated_json(interp.executable, _RESOLVE, request, cwd=cwd, timeout=60)
        stamps = [[p, _stamp(p)] for p in path]
        cache.put(key, {"info": data, "stamps": stamps})
    out: dict[str, Resolution] = {}
    for name in wanted:
        item = data.get(name) if isinstance(data, dict) else None
        try:
            origin = item.get("origin") if isinstance(item, dict) else None
            out[name] = Resolution(
                kind=str(item["kind"]), origin=str(origin) if origin else None,
                locations=[str(p) for p in item.get("locations", [])],
                package=bool(item.get("package")), error=item.get("error"),
            ) if isinstance(item, dict) else Resolution("missing")
        except (KeyError, TypeError, AttributeError):
            out[name] = Resolution("missing")
    return out


def isolated_command(python: str, code: str, request: dict[str, Any],
                     flags: Sequence[str] = ()) -> list[str]:
    """The command line of an isolated subprocess running ``code`` after the boot code.

    ``request`` (plain strings, numbers, lists and dicts) is embedded as a Python literal,
    so the boot code imports nothing that the measured import might need.
    """
    return [python, "-I", *flags, "-c", _BOOT.replace("__REQUEST__", repr(request)) + code]


def run_isolated(
    python: str,
    code: str,
    request: dict[str, Any],
    *,
    cwd: str,
    timeout: float,
    flags: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` isolated (see the module docstring); ``request`` is ``_req`` there.

    ``request`` must hold ``path`` (the explicit ``sys.path``), ``forbidden`` (project
    folders) and ``allowed`` (installed folders inside them, if any).
    """
    return subprocess.run(
        isolated_command(python, code, request, flags), capture_output=True, text=True,
        timeout=timeout, cwd=cwd, env={**_env(), **(env or {})}, check=False,
        stdin=subprocess.DEVNULL, encoding="utf-8", errors="replace",
    )


def run_isolated_json(python: str, code: str, request: dict[str, Any], *, cwd: str,
                      timeout: float) -> Any:
    """:func:`run_isolated` whose last stdout line is JSON; failures are AuditErrors."""
    try:
        proc = run_isolated(python, code, request, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AuditError(f"interpreter {python!r} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run interpreter {python!r}: {exc.strerror or exc}") from None
    return _last_json(python, proc)


def _run_json(python: str, args: list[str], *, cwd: str, env: dict[str, str],
              timeout: float) -> Any:
    try:
        proc = subprocess.run(
            [python, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
            env=env, check=False, stdin=subprocess.DEVNULL, encoding="utf-8", errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise AuditError(f"interpreter {python!r} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise AuditError(f"cannot run interpreter {python!r}: {exc.strerror or exc}") from None
    return _last_json(python, proc)


def _last_json(python: str, proc: subprocess.CompletedProcess[str]) -> Any:
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise AuditError(f"interpreter {python!r} failed: {last[:300]}")
    try:
        return json.loads(lines[-1])
    except ValueError:
        raise AuditError(f"interpreter {python!r} gave an unreadable answer") from None


def default_python() -> str:
    return sys.executable


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
