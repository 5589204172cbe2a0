"""Find the files behave loads, in the order it loads them, without running anything.

behave executes ``environment.py`` first, then every ``*.py`` in the steps folder sorted by
name, then (only with ``use_nested_step_modules``) the ``*.py`` files of each subfolder, the
subfolders sorted as paths. Its settings are read by parsing behave.ini, .behaverc,
setup.cfg, tox.ini and pyproject.toml ``[tool.behave]`` (behave.ini wins, as in behave).
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qhub.exceptions import AuditError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_INI_FILES = ("pyproject.toml", "tox.ini", "setup.cfg", ".behaverc", "behave.ini")
"""Read in this order; a later file wins, as behave's ``config_filenames()`` does."""

_TRUE = {"1", "yes", "true", "on"}


@dataclass(frozen=True)
class BehaveSettings:
    """The behave settings that decide which step modules load."""

    steps_dir: str = "steps"
    environment_file: str = "environment.py"
    use_nested_step_modules: bool = False
    step_matcher: str = "parse"
    sources: tuple[str, ...] = ()


def read_behave_settings(root: Path, environ: dict[str, str] | None = None) -> BehaveSettings:
    """Parse behave's settings for a project rooted at ``root`` (no code is imported)."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: list[str] = []
    for name in _INI_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            found = _read_toml(path) if name == "pyproject.toml" else _read_ini(path)
        except (OSError, ValueError, configparser.Error) as exc:
            raise AuditError(f"cannot read behave settings from {path}: {exc}") from None
        if found:
            values.update(found)
            sources.append(name)
    stage = values.get("stage") or env.get("BEHAVE_STAGE") or ""
    prefix = f"{stage}_" if stage else ""
    return BehaveSettings(
        steps_dir=values.get("steps_dir", f"{prefix}steps"),
        environment_file=values.get("environment_file", f"{prefix}environment.py"),
        use_nested_step_modules=values.get("use_nested_step_modules", "").lower() in _TRUE,
        step_matcher=values.get("step_matcher", "parse") or "parse",
        sources=tuple(sources),
    )


def _read_ini(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    if not parser.has_section("behave"):
        return {}
    return {k.replace("-", "_"): v.strip() for k, v in parser.items("behave")}


def _read_toml(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("tool", {}).get("behave", {})
    if not isinstance(section, dict):
        return {}
    return {
        k.replace("-", "_"): str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in section.items()
        if not isinstance(v, dict)
    }


@dataclass
class Layout:
    """Audited files in behave's load order, plus the folders behave puts on sys.path."""

    files: list[Path] = field(default_factory=list)
    environment: Path | None = None
    steps_dirs: list[Path] = field(default_factory=list)
    """Folders behave adds to ``sys.path`` while loading step modules."""
    base_dir: Path | None = None
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
    paths: Sequence[Path], root: Path, settings: BehaveSettings
) -> Layout:
    """Files to audit: the given files/folders, or behave's own steps + environment.py."""
    layout = Layout()
    if not paths:
        base = find_base_dir(root, settings)
        if base is None:
            raise AuditError(
                f"no '{settings.steps_dir}' folder or '{settings.environment_file}' under "
                f"{root} or {root / 'features'}; pass the paths to audit"
            )
        _add_base(layout, base, settings)
        return layout
    for raw in paths:
        path = raw if raw.is_absolute() else root / raw
        if not os.path.lexists(path):
            raise AuditError(f"path {raw} does not exist")
        if path.is_dir():
            if (path / settings.steps_dir).is_dir() or (path / settings.environment_file).is_file():
                _add_base(layout, path, settings)
            else:
                _add_steps_dir(layout, path, settings.use_nested_step_modules)
        else:
            if path.name == settings.environment_file and layout.environment is None:
                layout.environment = path
            layout.files.append(path)
    _environment_first(layout)
    return layout


def _add_base(layout: Layout, base: Path, settings: BehaveSettings) -> None:
    layout.base_dir = layout.base_dir or base
    env = base / settings.environment_file
    if env.is_file():
        layout.environment = layout.environment or env
        layout.files.append(env)
    steps = base / settings.steps_dir
    if steps.is_dir():
        _add_steps_dir(layout, steps, settings.use_nested_step_modules)


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
