"""behave's step loading, replayed statically: what runs, in which order, found where.

behave executes ``environment.py`` with ``[cwd, base_dir]`` in front of ``sys.path``, then
every step module (steps folders also in front). Each module-level import runs the module
it names the first time only (``sys.modules``); a project module found on that path is
followed here, depth-first, exactly when Python would execute it, while installed and
standard-library modules become *external imports* whose cost is measured elsewhere.
Step files are executed by behave even when already imported, and their step
definitions, matcher switches and custom types are recorded in registration order, as
behave's registry sees them. Nothing is executed: files are parsed, folders listed.

Where a name is found follows Python's path finder: built-in and frozen modules first,
then each ``sys.path`` entry in order (a package before a module, a namespace portion only
when nothing else is found); project folders are looked at here, the others through the
interpreter (:func:`qhub.audit.interpreter.resolve`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from qhub._record import frozen_record
from qhub.audit.facts import (
    FileFacts,
    ImportSite,
    MatcherSet,
    PathEdit,
    StepDef,
    TypeReg,
    TypeSpec,
)
from qhub.audit.interpreter import Interpreter, Resolution
from qhub.audit.pathexpr import PathContext, edit_paths

MAX_DEPTH = 100
"""Project import chains deeper than this are not followed (a note says so)."""
MAX_LIBRARY_FILES = 64
CONVENTIONAL_NAMES = frozenset({
    "test", "tests", "testing", "docs", "doc", "examples", "example", "scripts", "bench",
    "benchmarks", "build", "dist", "src", "setup", "conftest", "features", "steps",
    "environment",
})
"""Folder and file names every project has; an installed module of that name (a packaging
slip, an editable checkout on the path) is not the project's fault."""
HOOK_PREFIXES = ("before_", "after_")
"""environment.py functions behave calls as hooks (``before_all``, ``after_scenario``...)."""
_NOT_LIBRARIES = frozenset({"behave", "parse", "parse_type", "cucumber_expressions"})
_EXTENSION_SUFFIXES = (".so", ".pyd", ".abi3.so")
_BEHAVE_HINT = re.compile(rb"\bbehave\b")
"""An installed module is scanned for step definitions only if it mentions behave."""


@frozen_record(slots=False)
class Frame:
    """One import statement on the way from a file behave loads to another module."""

    path: str
    line: int


@dataclass
class Unit:
    """A file the replay executes: environment, step module, project helper or library."""

    path: Path
    display: str
    role: str
    """``environment``, ``step``, ``helper`` (a project module) or ``library``."""
    module: str | None
    """Its module name when imported (step files and environment.py have none)."""
    facts: FileFacts | None
    roles: set[str] = field(default_factory=set)
    """Every way it was executed (a step file may also be imported as a module)."""


@dataclass
class ExternalImport:
    """One execution of a module-level import of an installed or standard-library module."""

    unit: str
    site: ImportSite
    form: str
    top: str
    chain: tuple[Frame, ...]
    """From the file behave loads down to (not including) this statement."""


@dataclass
class StepEvent:
    """A step definition reaching behave's registry."""

    unit: str
    role: str
    step: StepDef
    matcher: str | None
    """Matcher in force (None when the audit cannot tell)."""
    chain: tuple[Frame, ...]


@dataclass
class TypeEvent:
    """Custom types registered with the matcher in force at that point."""

    unit: str
    reg: TypeReg
    matcher: str | None


@dataclass
class Missing:
    """A module-level import that finds nothing on behave's ``sys.path``."""

    unit: str
    site: ImportSite
    name: str
    reason: str


@dataclass
class Shadow:
    """A project module found where Python would otherwise find an installed one."""

    name: str
    display: str
    other: str
    """What it hides: ``the standard library`` or the installed module's folder."""
    importers: list[Frame] = field(default_factory=list)
    effective: bool = True


@dataclass
class Trace:
    """The replay's result."""

    units: dict[str, Unit] = field(default_factory=dict)
    """Every executed file by display path, in first-execution order."""
    externals: list[ExternalImport] = field(default_factory=list)
    registry: list[StepEvent | TypeEvent] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    shadows: dict[str, Shadow] = field(default_factory=dict)
    importers: dict[str, list[Frame]] = field(default_factory=dict)
    """Project module (display) -> import statements that loaded or reached it."""
    imported_names: dict[str, set[str]] = field(default_factory=dict)
    """Project module (display) -> names other modules import from it (for a star import:
    the names the importer reads)."""
    hook_names: dict[str, set[str]] = field(default_factory=dict)
    """Project module (display) -> imported names environment.py's hooks call (they run on
    every behave run)."""
    hook_methods: set[str] = field(default_factory=set)
    """Method names environment.py's hooks call on some object."""
    loadtime_names: dict[str, set[str]] = field(default_factory=dict)
    """Project module (display) -> imported names other modules use at import time
    (module-level calls, decorators)."""
    path_notes: list[str] = field(default_factory=list)
    path_uncertain: bool = False
    step_libraries: set[str] = field(default_factory=set)
    """Top-level names of installed packages whose import registers steps."""
    added_paths: list[str] = field(default_factory=list)
    """Folders the suite itself put on sys.path (resolved statically)."""
    notes: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    """Every top-level name looked up (the interpreter is asked about these)."""


@dataclass
class _Loaded:
    kind: str
    """``project``, ``external`` or ``missing``."""
    paths: list[str] = field(default_factory=list)
    """Package search locations (project packages)."""
    display: str | None = None


@dataclass
class _Hit:
    kind: str
    """``package``, ``module``, ``extension`` or ``namespace``."""
    file: str | None
    paths: list[str]


Reader = Callable[[Path, str], "FileFacts | None"]
Display = Callable[[Path], str]


class Replay:
    """One static run of behave's loading (see the module docstring)."""

    def __init__(
        self,
        *,
        root: Path,
        interp: Interpreter,
        resolutions: dict[str, Resolution] | None,
        baseline: Iterable[str],
        read: Reader,
        display: Display,
    ) -> None:
        self.root = os.path.realpath(root)
        self.interp = interp
        self.resolutions = resolutions
        self.read = read
        self.display = display
        self.trace = Trace()
        self.loaded: dict[str, _Loaded] = {name: _Loaded("external") for name in baseline}
        self.baseline = set(self.loaded)
        self.sys_path: list[str] = []
        self.added: set[str] = set()
        self.installed = [p.rstrip(os.sep) + os.sep for p in interp.installed_roots]
        self.listing: dict[str, set[str] | None] = {}
        self.matcher: str | None = "parse"
        self.default_matcher: str | None = "parse"
        self.libraries: set[str] = set()
        self.depth = 0
        self.skip: set[tuple[str, int]] = set()

    # entry points ------------------------------------------------------------------------

    def run(
        self,
        environment: Path | None,
        steps: list[Path],
        steps_dirs: list[Path],
        base_dir: Path | None,
        skip: Iterable[tuple[str, int]] = (),
    ) -> Trace:
        """Replay environment.py, then the step files (already in behave's order).

        ``skip``: ``(display, line)`` import statements to leave out (what-if moves).
        """
        self.skip = set(skip)
        cwd = self.root
        front = [cwd] if base_dir is None or os.path.realpath(base_dir) != cwd else []
        if base_dir is not None:
            front.append(os.path.realpath(base_dir))
        self.sys_path = [*front, *(os.path.realpath(p) for p in self.interp.path)]
        if environment is not None:
            self.exec_file(environment, "environment")
        self.default_matcher = self.matcher
        self.sys_path[0:0] = [os.path.realpath(d) for d in steps_dirs]
        for path in steps:
            self.matcher = self.default_matcher
            self.exec_file(path, "step")
        self.matcher = self.default_matcher
        return self.trace

    def exec_file(self, path: Path, role: str) -> None:
        unit = self.unit(path, role, None)
        if unit.facts is not None:
            self.execute(unit, ())

    # files and modules -------------------------------------------------------------------

    def unit(self, path: Path, role: str, module: str | None) -> Unit:
        display = self.display(path)
        found = self.trace.units.get(display)
        if found is not None:
            found.roles.add(role)
            return found
        unit = Unit(path=path, display=display, role=role, module=module,
                    facts=self.read(path, display), roles={role})
        self.trace.units[display] = unit
        return unit

    def execute(self, unit: Unit, chain: tuple[Frame, ...]) -> None:
        facts = unit.facts
        if facts is None:
            return
        for action in facts.actions:
            if isinstance(action, ImportSite):
                if (unit.display, action.line) not in self.skip:
                    self.import_site(unit, action, chain)
            elif isinstance(action, StepDef):
                self.trace.registry.append(StepEvent(unit.display, unit.role, action,
                                                     self.matcher, chain))
            elif isinstance(action, MatcherSet):
                self.set_matcher(action)
            elif isinstance(action, TypeReg):
                self.trace.registry.append(TypeEvent(unit.display, self.resolve_types(action),
                                                     self.matcher))
            elif isinstance(action, PathEdit) and unit.role != "library":
                self.path_edit(unit, action)

    def resolve_types(self, reg: TypeReg) -> TypeReg:
        """Converters imported from project modules, looked up in those modules."""
        if not any(spec.kind == "ref" for spec in reg.types.values()):
            return reg
        types: dict[str, TypeSpec] = {}
        for name, spec in reg.types.items():
            types[name] = spec
            if spec.kind == "ref" and spec.ref:
                module, _, function = spec.ref.partition(":")
                loaded = self.loaded.get(module)
                unit = self.trace.units.get(loaded.display) if loaded and loaded.display else None
                found = unit.facts.converters.get(function) if unit and unit.facts else None
                types[name] = found if found is not None else TypeSpec("unknown")
        return replace(reg, types=types)

    def set_matcher(self, action: MatcherSet) -> None:
        if action.name == "<default>":
            self.matcher = self.default_matcher
            return
        self.matcher = action.name
        if action.default:
            self.default_matcher = action.name

    def path_edit(self, unit: Unit, edit: PathEdit) -> None:
        facts = unit.facts
        assert facts is not None
        ctx = PathContext(file=os.path.abspath(unit.path), cwd=self.root,
                          lookup=facts.value_before)
        change = edit_paths(edit, ctx)
        if change is None:
            self.trace.path_uncertain = True
            self.trace.path_notes.append(
                f"{unit.display}:{edit.line}: {edit.text} not understood statically; "
                "modules it makes importable are not followed")
            return
        where, paths = change
        real = [os.path.realpath(p) for p in paths]
        self.added.update(real)
        self.trace.added_paths.extend(p for p in real if p not in self.trace.added_paths)
        if where == "front":
            self.sys_path[0:0] = real
        else:
            self.sys_path.extend(real)
        self.listing.clear()

    # imports -----------------------------------------------------------------------------

    def import_site(self, unit: Unit, site: ImportSite, chain: tuple[Frame, ...]) -> None:
        name = self.absolute(unit, site)
        frame = Frame(unit.display, site.line)
        if name is None:
            if unit.role in ("environment", "step"):
                self.trace.missing.append(Missing(
                    unit.display, site, site.module,
                    "relative import in a file behave executes directly (it has no package)"))
            return
        if unit.role == "library":
            root = (unit.module or "").split(".")[0]
            if name.split(".")[0] == root:
                self.scan_library(name, site, chain)
            return
        kind = self.import_module(name, (*chain, frame), site)
        if kind == "external":
            self.trace.externals.append(ExternalImport(
                unit.display, site, self.form(site, name), name.split(".")[0], chain))
            self.scan_library(name, site, (*chain, frame))
            return
        if kind == "missing":
            self.trace.missing.append(Missing(unit.display, site, name, "not found"))
            return
        loaded = self.loaded.get(name)
        target = loaded.display if loaded is not None else None
        if target is not None:
            self.trace.importers.setdefault(target, []).append(frame)
        if site.names and loaded is not None and loaded.kind == "project":
            if target is not None:
                self.note_names(unit, site, target)
            for sub in site.names:
                if sub != "*" and self.find_in(loaded.paths, sub) is not None:
                    self.import_module(f"{name}.{sub}", (*chain, frame), site)

    def note_names(self, unit: Unit, site: ImportSite, target: str) -> None:
        """Which names of ``target`` the importer takes, and which it uses at load time."""
        facts = unit.facts
        assert facts is not None
        names = self.trace.imported_names.setdefault(target, set())
        if site.star:
            names.update(facts.names_read)
        names.update(n for n in site.names if n != "*")
        hook_calls: set[str] = set()
        if "environment" in unit.roles:
            for name, called in facts.calls_in.items():
                if name.startswith(HOOK_PREFIXES):
                    hook_calls |= called
            self.trace.hook_methods |= {c[1:] for c in hook_calls if c.startswith(".")}
        for b in site.bindings:
            if b.name in facts.module_calls:  # called (or used as a decorator) at load
                self.trace.loadtime_names.setdefault(target, set()).add(b.alias.name)
            if b.name in hook_calls:
                self.trace.hook_names.setdefault(target, set()).add(b.alias.name)

    @staticmethod
    def form(site: ImportSite, name: str) -> str:
        if site.names:
            return f"from {name} import {', '.join(site.names)}"
        return f"import {name}"

    def absolute(self, unit: Unit, site: ImportSite) -> str | None:
        if site.level == 0:
            return site.module
        if unit.module is None:
            return None
        is_package = unit.path.name == "__init__.py"
        parts = unit.module.split(".")
        if not is_package:
            parts = parts[:-1]
        up = site.level - 1
        if up > len(parts) or (up == len(parts) and not site.module.lstrip(".")):
            return None
        base = parts[: len(parts) - up] if up else parts
        tail = site.module.lstrip(".")
        return ".".join([*base, tail] if tail else base) or None

    def import_module(self, dotted: str, chain: tuple[Frame, ...], site: ImportSite) -> str:
        """Import ``dotted`` (parents first); ``project``, ``external`` or ``missing``."""
        parts = dotted.split(".")
        kind = "missing"
        for i in range(len(parts)):
            name = ".".join(parts[: i + 1])
            known = self.loaded.get(name)
            if known is not None:
                kind = known.kind
                if kind == "missing":
                    return kind
                continue
            if i == 0:
                self.trace.names.add(name)
                hit = self.find_top(name, chain)
            else:
                parent = self.loaded[".".join(parts[:i])]
                if parent.kind == "external":
                    self.loaded[name] = _Loaded("external")
                    kind = "external"
                    continue
                hit = self.find_in(parent.paths, parts[i])
            if hit is None:
                self.loaded[name] = _Loaded("missing")
                return "missing"
            if isinstance(hit, str):
                self.loaded[name] = _Loaded("external")
                kind = "external"
                continue
            kind = "project"
            self.load_project(name, hit, chain, site)
        return kind

    def load_project(self, name: str, hit: _Hit, chain: tuple[Frame, ...],
                     site: ImportSite) -> None:
        display = self.display(Path(hit.file)) if hit.file else self.display(Path(hit.paths[0]))
        self.loaded[name] = _Loaded("project", hit.paths, display)
        if hit.kind in ("namespace", "extension") or hit.file is None:
            return
        if self.depth >= MAX_DEPTH:
            self.trace.notes.append(f"import chain deeper than {MAX_DEPTH} modules at "
                                    f"{display}; not followed further")
            return
        unit = self.unit(Path(hit.file), "helper", name)
        self.depth += 1
        try:
            self.execute(unit, chain)
        finally:
            self.depth -= 1

    # where names are found ---------------------------------------------------------------

    def project_entry(self, entry: str) -> bool:
        if entry in self.added:
            return not self.installed_path(entry)
        return (entry == self.root or entry.startswith(self.root + os.sep)) and (
            not self.installed_path(entry))

    def installed_path(self, path: str) -> bool:
        probe = path.rstrip(os.sep) + os.sep
        return any(probe.startswith(p) for p in self.installed)

    def project_file(self, path: str) -> bool:
        """A file found through the interpreter that is really the project's (editable)."""
        return (path.startswith(self.root + os.sep) and not self.installed_path(path)) or any(
            path.startswith(a.rstrip(os.sep) + os.sep) for a in self.added
            if not self.installed_path(a))

    def names_in(self, folder: str) -> set[str] | None:
        if folder not in self.listing:
            try:
                self.listing[folder] = set(os.listdir(folder))
            except OSError:
                self.listing[folder] = None
        return self.listing[folder]

    def lookup(self, folder: str, name: str) -> _Hit | None:
        """Python's FileFinder in one folder, done by listing it."""
        names = self.names_in(folder)
        if not names:
            return None
        namespace = None
        if name in names:
            sub = os.path.join(folder, name)
            if os.path.isdir(sub):
                init = os.path.join(sub, "__init__.py")
                if os.path.isfile(init):
                    return _Hit("package", init, [sub])
                if any(f"__init__{s}" in (self.names_in(sub) or ()) for s in _EXTENSION_SUFFIXES):
                    return _Hit("extension", None, [sub])
                namespace = _Hit("namespace", None, [sub])
        for entry in names:
            if entry.startswith(name + ".") and entry.endswith(_EXTENSION_SUFFIXES) and (
                    entry.count(".") <= 3):
                return _Hit("extension", None, [os.path.join(folder, entry)])
        if f"{name}.py" in names and os.path.isfile(os.path.join(folder, f"{name}.py")):
            return _Hit("module", os.path.join(folder, f"{name}.py"), [])
        return namespace

    def find_in(self, paths: list[str], name: str) -> _Hit | None:
        portions: list[str] = []
        for folder in paths:
            hit = self.lookup(folder, name)
            if hit is None:
                continue
            if hit.kind != "namespace":
                return hit
            portions.extend(hit.paths)
        return _Hit("namespace", None, portions) if portions else None

    def find_top(self, name: str, chain: tuple[Frame, ...]) -> _Hit | str | None:
        """A project :class:`_Hit`, ``"external"``, or None when nothing is found."""
        if name in self.interp.builtins:
            return "external"
        res = self.resolutions.get(name) if self.resolutions is not None else None
        if res is not None and res.kind == "frozen":
            return "external"
        external_entry = _entry_of(res, name) if res is not None else None
        portions: list[str] = []
        for entry in self.sys_path:
            if self.project_entry(entry):
                hit = self.lookup(entry, name)
                if hit is None:
                    continue
                if hit.kind != "namespace":
                    self.note_shadow(name, hit, res, chain)
                    return hit
                portions.extend(hit.paths)
            elif external_entry is not None and entry == external_entry:
                return "external"
        if res is not None and res.kind == "found":
            origin = res.origin or (res.locations[0] if res.locations else None)
            if origin and self.project_file(origin):
                if res.package:
                    return _Hit("package" if res.origin else "namespace", res.origin,
                                res.locations)
                return _Hit("module", origin, [])
            if res.origin is None and portions:
                return _Hit("namespace", None, portions)
            return "external"
        if portions:
            return _Hit("namespace", None, portions)
        if self.resolutions is None:
            return "external"  # first pass: the interpreter has not been asked yet
        return None

    def note_shadow(self, name: str, hit: _Hit, res: Resolution | None,
                    chain: tuple[Frame, ...]) -> None:
        if res is None or res.kind not in ("found", "frozen", "builtin"):
            return
        origin = res.origin or (res.locations[0] if res.locations else "")
        if origin and self.project_file(origin):
            return
        if name in CONVENTIONAL_NAMES:
            return
        other = ("the standard library" if name in self.interp.stdlib
                 else f"the installed module in {os.path.dirname(origin)}")
        display = self.display(Path(hit.file or hit.paths[0]))
        shadow = self.trace.shadows.setdefault(display, Shadow(name, display, other))
        if chain:
            shadow.importers.append(chain[-1])

    # step libraries ----------------------------------------------------------------------

    def scan_library(self, name: str, site: ImportSite, chain: tuple[Frame, ...]) -> None:
        """Step definitions of an installed step library (``behave4cmd0.command_steps``,
        ``qhub.steps``): its modules that mention behave are read, following imports
        within the same package, as Python would execute them (nothing is run)."""
        if name.split(".", maxsplit=1)[0] in _NOT_LIBRARIES:
            return
        candidates = [name] + [f"{name}.{n}" for n in site.names if n != "*"]
        for dotted in candidates:
            self.library_import(dotted, chain)

    def library_import(self, dotted: str, chain: tuple[Frame, ...]) -> None:
        if dotted in self.libraries or len(self.libraries) >= MAX_LIBRARY_FILES:
            return
        self.libraries.add(dotted)
        path = self.library_file(dotted)
        if path is None:
            return
        try:
            with open(path, "rb") as fh:
                head = fh.read(1 << 20)
        except OSError:
            return
        if not _BEHAVE_HINT.search(head):
            return
        unit = self.unit(Path(path), "library", dotted)
        before = len(self.trace.registry)
        self.execute(unit, chain)
        if any(isinstance(e, StepEvent) for e in self.trace.registry[before:]):
            self.trace.step_libraries.add(dotted.split(".", maxsplit=1)[0])

    def library_file(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        res = self.resolutions.get(parts[0]) if self.resolutions is not None else None
        if res is None or res.kind != "found":
            return None
        if not res.package:
            return res.origin if len(parts) == 1 and res.origin and res.origin.endswith(
                ".py") else None
        folders = list(res.locations)
        for part in parts[1:]:
            hit = self.find_in(folders, part)
            if hit is None:
                return None
            if hit.kind == "module":
                return hit.file
            folders = hit.paths
        init = os.path.join(folders[0], "__init__.py") if folders else ""
        return init if os.path.isfile(init) else None


def _entry_of(res: Resolution, name: str) -> str | None:
    """The ``sys.path`` entry where the interpreter found ``name``."""
    if res.kind != "found":
        return None
    if res.origin:
        folder = os.path.dirname(res.origin)
        if res.package and os.path.basename(folder) == name:
            folder = os.path.dirname(folder)
        return folder
    if res.locations:
        return os.path.dirname(res.locations[0])
    return None
