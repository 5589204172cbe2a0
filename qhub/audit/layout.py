"""Find the files behave loads, in the order it loads them, without running anything.

behave executes ``environment.py`` first, then every ``*.py`` in the steps folder sorted by
name (a plain string sort: ``s10`` before ``s2``), then (behave 1.3 with
``use_nested_step_modules``) the ``*.py`` files of each subfolder, the subfolders sorted as
paths. Its settings are read by parsing behave.ini, .behaverc, setup.cfg, tox.ini and
pyproject.toml ``[tool.behave]`` (behave.ini wins, as in behave); ``paths`` entries are
relative to the file that sets them. Feature files come from behave's ``paths`` setting,
else from the base folder that holds the audited steps.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qhub._bounded import read_regular_text
from qhub._record import frozen_record
from qhub.exceptions import AuditError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_INI_FILES = ("pyproject.toml", "tox.ini", "setup.cfg", ".behaverc", "behave.ini")
"""Read in this order; a later file wins, as behave's ``config_filenames()`` does."""

_MAX_CONFIG_BYTES = 4 * 1024 * 1024
_TRUE = {"1", "yes", "true", "on"}


@frozen_record(slots=False)
class BehaveSettings:
    """The behave settings that decide which step modules load."""

    steps_dir: str = "steps"
    environment_file: str = "environment.py"
    use_nested_step_modules: bool = False
    step_matcher: str = "parse"
    paths: tuple[str, ...] = ()
    """behave's default feature paths (absolute), when configured."""
    lang: str | None = None
    sources: tuple[str, ...] = ()


def read_behave_settings(root: Path, environ: dict[str, str] | None = None) -> BehaveSettings:
    """Parse behave's settings for a project rooted at ``root`` (no code is imported)."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: list[str] = []
    paths: tuple[str, ...] = ()
    for name in _INI_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            found = _read_toml(path) if name == "pyproject.toml" else _read_ini(path)
        except (OSError, ValueError, configparser.Error) as exc:
            reason = " ".join(str(exc).split())[:300]
            raise AuditError(f"cannot read behave settings from {path}: {reason}") from None
        if found:
            if "paths" in found:
                paths = tuple(
                    os.path.normpath(os.path.join(root, p))
                    for p in found["paths"].split("\n") if p.strip()
                )
            values.update(found)
            sources.append(name)
    stage = values.get("stage") or env.get("BEHAVE_STAGE") or ""
    prefix = f"{stage}_" if stage else ""
    return BehaveSettings(
        steps_dir=values.get("steps_dir", f"{prefix}steps"),
        environment_file=values.get("environment_file", f"{prefix}environment.py"),
        use_nested_step_modules=values.get("use_nested_step_modules", "").lower() in _TRUE,
        step_matcher=values.get("step_matcher", "parse") or "parse",
        paths=paths,
        lang=values.get("lang") or None,
        sources=tuple(sources),
    )


def _read_ini(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(read_regular_text(path, _MAX_CONFIG_BYTES), source=str(path))
    if not parser.has_section("behave"):
        return {}
    return {k.replace("-", "_"): v.strip() for k, v in parser.items("behave")}


def feature_files(roots: Sequence[Path]) -> list[Path]:
    """``*.feature`` files under ``roots`` (files taken as given; hidden folders and
    virtualenvs skipped), in a stable order."""
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames
                if not d.startswith(".") and d not in ("node_modules", "venv", "__pycache__")
            )
            found.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".feature"))
    return list(dict.fromkeys(found))


def _read_toml(path: Path) -> dict[str, str]:
    data = tomllib.loads(read_regular_text(path, _MAX_CONFIG_BYTES))
    section = data.get("tool", {}).get("behave", {})
    if not isinstance(section, dict):
        return {}
    out: dict[str, str] = {}
    for k, v in section.items():
        if isinstance(v, dict):
            continue
        if isinstance(v, list):
            out[k.replace("-", "_")] = "\n".join(str(x) for x in v)
        else:
            out[k.replace("-", "_")] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


@dataclass
class Layout:
    """Audited files in behave's load order, plus the folders behave puts on sys.path."""

    files: list[Path] = field(default_factory=list)
    environment: Path | None = None
    steps_dirs: list[Path] = field(default_factory=list)
    """Folders behave adds to ``sys.path`` while loading step modules."""
    base_dir: Path | None = None
    feature_roots: list[Path] = field(default_factory=list)
    """Where behave would look for feature files for these steps."""
    problems: list[tuple[Path, str]] = field(default_factory=list)
    """Unreadable entries met while walking (e.g. symlink loops)."""


def find_base_dir(root: Path, settings: BehaveSettings) -> Path | None:
    """Where behave would find steps: ``features/`` or, walking up from it, the root."""
    for candidate in (root / "features", root):
        if (candidate / settings.steps_dir).is_dir() or (
            candidate / settings.environment_file
        ).is_file():
            return candidate
    return None


def discover(
    paths: Sequence[Path], root: Path, settings: BehaveSettings, *, nested: bool = True
) -> Layout:
    """Files to audit: the given files/folders, or behave's own steps + environment.py.

    ``nested``: whether the target behave knows ``use_nested_step_modules`` (1.3+).
    """
    layout = _discover(paths, root, settings, nested and settings.use_nested_step_modules)
    if settings.paths and not paths:
        layout.feature_roots = [Path(p) for p in settings.paths]
    elif layout.base_dir is not None:
        layout.feature_roots = [layout.base_dir]
    else:
        folders = {p.parent.parent if p.parent.name == settings.steps_dir else p.parent
                   for p in layout.files}
        layout.feature_roots = sorted(folders)
    return layout


def _discover(paths: Sequence[Path], root: Path, settings: BehaveSettings, nested: bool
              ) -> Layout:
    layout = Layout()
    if not paths:
        base = find_base_dir(root, settings)
        if base is None:
            raise AuditError(
                f"no '{settings.steps_dir}' folder or '{settings.environment_file}' under "
                f"{root} or {root / 'features'}; pass the paths to audit"
            )
        _add_base(layout, base, settings, nested)
        return layout
    for raw in paths:
        path = raw if raw.is_absolute() else root / raw
        if not os.path.lexists(path):
            raise AuditError(f"path {raw} does not exist")
        if path.is_dir():
            if (path / settings.steps_dir).is_dir() or (path / settings.environment_file).is_file():
                _add_base(layout, path, settings, nested)
            else:
                if path.name == settings.steps_dir and layout.base_dir is None:
                    layout.base_dir = path.parent
                _add_steps_dir(layout, path, nested)
        else:
            if path.name == settings.environment_file and layout.environment is None:
                layout.environment = path
            layout.files.append(path)
    _environment_first(layout)
    return layout


def _add_base(layout: Layout, base: Path, settings: BehaveSettings, nested: bool) -> None:
    layout.base_dir = layout.base_dir or base
    env = base / settings.environment_file
    if env.is_file():
        layout.environment = layout.environment or env
        layout.files.append(env)
    steps = base / settings.steps_dir
    if steps.is_dir():
        _add_steps_dir(layout, steps, nested)


def _add_steps_dir(layout: Layout, steps: Path, nested: bool) -> None:
    folders = [steps, *(_subfolders(steps) if nested else [])]
    for folder in folders:
        layout.steps_dirs.append(folder)
        layout.files.extend(_py_files(folder, layout))


def _subfolders(steps: Path) -> list[Path]:
    """Like behave's ``select_subdirectories``: ``os.walk`` (symlinked folders not followed)."""
    found = [Path(d) for d, _dirs, _files in os.walk(steps)][1:]
    return sorted(found)


def _py_files(folder: Path, layout: Layout) -> Iterable[Path]:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        layout.problems.append((folder, f"cannot list folder: {exc.strerror or exc}"))
        return []
    return [folder / n for n in names if n.endswith(".py")]


def _environment_first(layout: Layout) -> None:
    """environment.py is executed before any step module, so it is audited (and pays) first."""
    seen: set[Path] = set()
    ordered: list[Path] = []
    env = layout.environment
    for path in ([env] if env is not None else []) + layout.files:
        key = Path(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            ordered.append(path)
    layout.files = ordered
