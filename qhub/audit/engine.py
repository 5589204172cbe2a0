"""``run_audit``: find behave's files, replay its loading, measure, ask behave, apply rules.

The pipeline collects, freezes, then renders: inputs are read once (files, interpreter,
measurements, behave's answer on steps), the rules read them and emit findings, and the
result is one :class:`~qhub.audit.model.AuditResult` that renderers only read.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub.audit import interpreter, layout, measure, rules, stepcheck
from qhub.audit.cache import JsonCache
from qhub.audit.costs import CostModel, SiteKey
from qhub.audit.facts import FileFacts
from qhub.audit.loadorder import CONVENTIONAL_NAMES, Replay, StepEvent, Trace
from qhub.audit.model import AuditResult, Finding, Location, ModuleCost, Severity, natural_key
from qhub.audit.options import AuditOptions, options_from
from qhub.audit.progress import Progress
from qhub.audit.rules.base import RuleContext
from qhub.audit.sources import SourceFile, read_source
from qhub.audit.walker import analyse
from qhub.exceptions import AuditError

if TYPE_CHECKING:
    from qhub.config import QHubConfig



def run_audit(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    config: QHubConfig | None = None,
    **options: Any,
) -> AuditResult:
    """Audit environment.py and the step modules (and the project modules they import).

    ``paths`` are files or folders (empty: ``config.imports.paths``, else behave's steps
    folder and environment.py under the project root). Project files are parsed, never
    imported; installed modules are timed in isolated subprocesses of the target
    interpreter, and step definitions checked by its own behave. Bad paths or options
    raise :class:`qhub.AuditError`.
    """
    opts = options_from(config, options)
    if paths:  # given on the command line or by the caller: relative to the working folder
        for p in paths:
            if not os.path.lexists(p):
                raise AuditError(f"path {os.fspath(p)} does not exist")
        targets = [Path(os.path.abspath(p)) for p in paths]
    elif config is not None and config.imports.paths:
        targets = [config.path(p) for p in config.imports.paths]
    else:
        targets = []
    return _Audit(opts).run(targets)


class _Audit:
    def __init__(self, opts: AuditOptions) -> None:
        self.opts = opts
        self.root = opts.root
        self.started = time.perf_counter()
        self.active = rules.selection(opts.select, opts.ignore)
        folder = None
        if opts.use_cache:
            folder = opts.cache_dir or (self.root / ".qhub" / "importtime")
        self.cache = JsonCache(folder)
        self.progress = Progress(opts.progress)
        self.sources: dict[str, SourceFile] = {}
        self.facts: dict[str, FileFacts | None] = {}
        self.notes: list[str] = []

    def run(self, targets: list[Path]) -> AuditResult:
        cwd = interpreter.neutral_folder()
        try:
            return self._run(targets, cwd)
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
            self.progress.close()

    def _run(self, targets: list[Path], cwd: str) -> AuditResult:
        opts = self.opts
        python = _resolve_python(opts.python)
        self.progress.update("asking the interpreter")
        interp = interpreter.probe(python, self.root, self.cache, cwd)
        self.target = opts.target_version or interp.version_info
        settings = layout.read_behave_settings(self.root)
        found = layout.discover(targets, self.root, settings,
                                nested=interp.behave_info >= (1, 3))
        if not found.files and not found.problems:
            raise AuditError("no Python files to audit in the given paths")
        iso = self._isolation(interp, cwd, found)
        baseline: set[str] = set()
        if interp.behave_version is None:
            self.notes.append(f"behave is not installed in {interp.executable}: costs are "
                              "measured from a bare interpreter and step rules are skipped")
        elif opts.measure:
            self.progress.update("running behave once to see what it loads itself")
            baseline = measure.behave_baseline(interp, iso, self.cache)
        self.progress.update(f"reading {len(found.files)} file(s)")
        first = self._replay(interp, None, baseline, found)
        names = first.names | self._shadow_candidates(interp, found, first)
        self.progress.update("locating imported modules")
        resolutions = interpreter.resolve(interp, names, iso.path, self.cache, cwd)
        trace = self._replay(interp, resolutions, baseline, found)
        latent = self._latent_shadows(interp, found, trace, resolutions, baseline)

        ctx = RuleContext(
            sources=self.sources, trace=trace, options=opts, interp=interp, target=self.target,
            layout_problems=[(self._display(p), msg) for p, msg in found.problems],
            latent_shadows=latent, notes=self.notes,
        )
        if opts.measure:
            self._measure(ctx, interp, iso, baseline, resolutions)
        has_steps = any(isinstance(e, StepEvent) for e in trace.registry)
        if opts.check_steps and has_steps and self.active & {"QH201", "QH202", "QH203"} and (
            interp.behave_version is not None
        ):
            features = opts.features if opts.features is not None else layout.feature_files(
                found.feature_roots)
            self.progress.update(f"checking steps with behave {interp.behave_version}")
            ctx.steps = stepcheck.check(trace, interp, iso, features=features,
                                        lang=settings.lang, cache=self.cache,
                                        timeout_s=max(60.0, opts.timeout_s))
        findings, suppressed = self._apply_rules(ctx)
        self.notes.extend(trace.path_notes)
        self.notes.extend(trace.notes)
        self.notes.extend(s.note for s in self.sources.values() if s.note)
        return self._result(ctx, interp, findings, suppressed)

    # inputs ------------------------------------------------------------------------------

    def _isolation(self, interp: interpreter.Interpreter, cwd: str,
                   found: layout.Layout) -> measure.Isolation:
        probe = Replay(root=self.root, interp=interp, resolutions={}, baseline=(),
                       read=lambda p, d: None, display=self._display)
        path = [p for p in interp.path if not probe.project_entry(os.path.realpath(p))]
        forbidden = sorted({os.path.realpath(self.root),
                            *(os.path.realpath(p) for p in interp.path
                              if probe.project_entry(os.path.realpath(p))),
                            *(os.path.realpath(d) for d in found.steps_dirs)})
        return measure.Isolation(path=path, forbidden=forbidden,
                                 allowed=list(interp.installed_roots),
                                 sites=list(interp.sites), cwd=cwd)

    def _read(self, path: Path, display: str) -> FileFacts | None:
        if display in self.facts:
            return self.facts[display]
        src = read_source(path, display, self.opts.max_bytes, self.target)
        self.sources[display] = src
        facts = None
        if src.tree is not None and src.text is not None:
            try:
                facts = analyse(src.tree, src.text)
            except (RecursionError, MemoryError):
                src.problem = ("QH005", 1, "nested too deeply to analyse")
                src.tree = None
        self.facts[display] = facts
        return facts

    def _replay(self, interp: interpreter.Interpreter,
                resolutions: dict[str, interpreter.Resolution] | None,
                baseline: set[str], found: layout.Layout) -> Trace:
        replay = Replay(root=self.root, interp=interp, resolutions=resolutions,
                        baseline=baseline, read=self._read, display=self._display)
        steps = [p for p in found.files if p != found.environment]
        return replay.run(found.environment, steps, found.steps_dirs, found.base_dir)

    def _shadow_folders(self, found: layout.Layout, trace: Trace) -> list[str]:
        """Folders behave (or the suite) puts on sys.path."""
        folders = [*found.steps_dirs, *([found.base_dir] if found.base_dir else []), self.root]
        return list(dict.fromkeys([os.path.realpath(f) for f in folders] + trace.added_paths))

    def _shadow_candidates(self, interp: interpreter.Interpreter, found: layout.Layout,
                           trace: Trace) -> set[str]:
        names: set[str] = set()
        for folder in self._shadow_folders(found, trace):
            for name in _module_names(folder):
                if name not in CONVENTIONAL_NAMES:
                    names.add(name)
        return names

    def _latent_shadows(
        self, interp: interpreter.Interpreter, found: layout.Layout, trace: Trace,
        resolutions: dict[str, interpreter.Resolution], baseline: set[str],
    ) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        probe = Replay(root=self.root, interp=interp, resolutions={}, baseline=(),
                       read=lambda p, d: None, display=self._display)
        for folder in self._shadow_folders(found, trace):
            for name, path in sorted(_module_names(folder).items()):
                res = resolutions.get(name)
                if (name in CONVENTIONAL_NAMES or name in baseline or res is None
                        or res.kind != "found"):
                    continue
                origin = res.origin or (res.locations[0] if res.locations else "")
                if not origin or probe.project_file(origin):
                    continue
                other = ("the standard library's `" + name + "`" if name in interp.stdlib
                         else f"the installed `{name}` ({os.path.dirname(origin)})")
                out.append((self._display(Path(path)), name, other))
        return out

    def _measure(self, ctx: RuleContext, interp: interpreter.Interpreter,
                 iso: measure.Isolation, baseline: set[str],
                 resolutions: dict[str, interpreter.Resolution]) -> None:
        trace = ctx.trace
        forms: dict[str, str] = {}
        for ext in trace.externals:
            if ext.form in forms:
                continue
            if ext.form == f"import {ext.site.module}" and ext.site.module in baseline:
                continue
            forms[ext.form] = _fingerprint(interp, ext.top, resolutions.get(ext.top))
        jobs = self.opts.jobs or measure.default_jobs()

        def tick(done: int, total: int) -> None:
            self.progress.count("measuring imports", done, total)

        measured = measure.measure_all(
            interp, forms.items(), iso, self.cache, timeout_s=self.opts.timeout_s, jobs=jobs,
            repeat=self.opts.repeat, progress=tick,
        )
        for ext in trace.externals:
            if ext.form not in measured and ext.form not in forms:
                measured[ext.form] = measure.Measurement(ext.form, ok=True)
        ctx.measured = measured
        sites = [SiteKey(e.unit, e.site.line, e.form) for e in trace.externals
                 if measured.get(e.form) is not None and measured[e.form].ok]
        trees = {form: m.self_us for form, m in measured.items() if m.ok}
        ctx.costs = CostModel(sites, trees, baseline)
        blocked = sorted({f for f, m in measured.items() if m.blocked})
        if blocked:
            self.notes.append(f"{len(blocked)} import(s) not timed because they would run "
                              f"project code: {', '.join(blocked[:5])}")

    # rules -------------------------------------------------------------------------------

    def _apply_rules(self, ctx: RuleContext) -> tuple[list[Finding], int]:
        findings: list[Finding] = []
        suppressed = 0
        active = self.active

        def emit(rule_id: str, path: str, line: int, message: str, suggestion: str, *,
                 end_line: int | None = None, module: str | None = None,
                 related: Sequence[Location] = (), chain: Sequence[Location] = (),
                 severity: Severity | None = None,
                 data: dict[str, Any] | None = None) -> Finding | None:
            nonlocal suppressed
            if rule_id not in active:
                return None
            facts = self.facts.get(path)
            tokens = facts.suppressed(line, end_line) if facts is not None and (
                facts.suppress) else None
            if tokens and rules.suppressed_by(rule_id, tokens):
                suppressed += 1
                return None
            rule = rules.BY_ID[rule_id]
            finding = Finding(
                rule=rule_id, name=rule.name, severity=severity or rule.severity,
                location=Location(path, line), message=message, suggestion=suggestion,
                module=module, related=list(related), chain=list(chain), data=data or {},
            )
            findings.append(finding)
            return finding

        for family in rules.FAMILIES:
            self.progress.update(f"applying rules ({family.__name__.rsplit('.', 1)[-1]})")
            family.check(ctx, emit)
        return _one_per_line(findings), suppressed

    # result ------------------------------------------------------------------------------

    def _result(self, ctx: RuleContext, interp: interpreter.Interpreter,
                findings: list[Finding], suppressed: int) -> AuditResult:
        findings.sort(key=lambda f: (natural_key(f.location.path), f.location.line, f.rule))
        costs = ctx.costs
        modules: dict[str, ModuleCost] = {}
        forms = {(e.unit, e.site.line): e.form for e in ctx.trace.externals}
        moves = [SiteKey(f.location.path, f.location.line,
                         forms.get((f.location.path, f.location.line), ""))
                 for f in findings if f.rule == "QH102"]
        if costs is not None:
            modules = _module_costs(ctx, costs)
        behave = ctx.steps.behave_version if ctx.steps is not None else interp.behave_version
        files = [d for d, u in ctx.trace.units.items() if u.role != "library"]
        files += [d for d in self.sources if d not in files
                  and not (ctx.trace.units.get(d) and ctx.trace.units[d].role == "library")]
        return AuditResult(
            root=str(self.root),
            files=files,
            findings=findings,
            modules=modules,
            total_load_ms=costs.total_ms if costs is not None else 0.0,
            saving_ms=costs.saving(moves) if costs is not None else 0.0,
            saving_modules=sorted(costs.gone(moves)) if costs is not None else [],
            interpreter=interp.executable,
            python_version=interp.version,
            target_version=self.target,
            behave_version=behave,
            suppressed=suppressed,
            elapsed_s=time.perf_counter() - self.started,
            notes=list(dict.fromkeys(self.notes)),
            sources={d: str(u.path) for d, u in ctx.trace.units.items() if u.role != "library"},
        )

    def _display(self, path: Path) -> str:
        return display(path, self.root)


def display(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, or absolute when outside it."""
    absolute = os.path.abspath(path)
    prefix = str(root).rstrip(os.sep) + os.sep
    shown = absolute[len(prefix):] if absolute.startswith(prefix) else absolute
    return shown.replace(os.sep, "/")


def _module_costs(ctx: RuleContext, costs: CostModel) -> dict[str, ModuleCost]:
    out: dict[str, ModuleCost] = {}
    seen: set[tuple[str, Location]] = set()
    for ext in ctx.trace.externals:
        m = ctx.measured.get(ext.form)
        if m is None:
            continue
        here = Location(ext.unit, ext.site.line)
        entry = out.get(ext.form)
        if entry is None:
            status = ("measured" if m.ok else "blocked" if m.blocked
                      else "timeout" if m.timeout else "failed")
            key = SiteKey(ext.unit, ext.site.line, ext.form)
            entry = out[ext.form] = ModuleCost(
                module=ext.form, status=status,
                standalone_ms=costs.standalone_ms(ext.form) if m.ok else 0.0,
                cumulative_ms=m.cumulative_us / 1000.0, paid_by=here,
                paid_ms=costs.paid_ms(key) if m.ok else 0.0,
                chain=[Location(f.path, f.line) for f in ext.chain], error=m.error,
                cached=m.cached,
            )
        if (ext.form, here) not in seen:
            seen.add((ext.form, here))
            entry.importers.append(here)
    return out


def _one_per_line(findings: list[Finding]) -> list[Finding]:
    """Keep the most important finding of each line; name the others in its data."""
    rank = {rid: i for i, rid in enumerate(rules.PRIORITY)}
    groups: dict[tuple[str, int], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.location.path, f.location.line), []).append(f)
    out: list[Finding] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        best = min(group, key=lambda f: (rank.get(f.rule, 99), -int(f.severity)))
        best.data["also"] = sorted({f.rule for f in group} - {best.rule})
        out.append(best)
    return out


def _module_names(folder: str) -> dict[str, str]:
    """Top-level modules a folder provides: ``name.py`` files and packages."""
    out: dict[str, str] = {}
    try:
        entries = os.listdir(folder)
    except OSError:
        return out
    for entry in entries:
        full = os.path.join(folder, entry)
        if entry.endswith(".py") and entry[:-3].isidentifier():
            out.setdefault(entry[:-3], full)
        elif entry.isidentifier() and os.path.isfile(os.path.join(full, "__init__.py")):
            out.setdefault(entry, os.path.join(full, "__init__.py"))
    return out


def _fingerprint(interp: interpreter.Interpreter, top: str,
                 res: interpreter.Resolution | None) -> str:
    """What makes a cached measurement stale: the interpreter and the module's files (an
    install or upgrade rewrites them)."""
    if top in interp.builtins or top in interp.stdlib:
        return f"std:{interp.version}"
    if res is None or res.kind != "found":
        return f"{res.kind if res else 'unknown'}:{top}"
    place = res.origin or (res.locations[0] if res.locations else "")
    try:
        st = os.stat(place)
    except OSError:
        return f"gone:{place}"
    return f"file:{place}:{st.st_mtime_ns}:{st.st_size}"


def _resolve_python(python: str | None) -> str:
    if not python:
        return interpreter.default_python()
    found = shutil.which(python)
    if found is None:
        raise AuditError(f"interpreter {python!r} not found")
    return os.path.abspath(found)


