"""``run_audit``: discover behave's files, analyse them, measure imports, apply the rules."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub.exceptions import AuditError
from qhub.imports import checks, importtime, layout, rules
from qhub.imports.analysis import FileFacts, analyse
from qhub.imports.model import AuditResult, Severity
from qhub.imports.sources import DEFAULT_MAX_BYTES, SourceFile, read_source

if TYPE_CHECKING:
    from qhub.config import QHubConfig


@dataclass
class AuditOptions:
    """Every knob of an audit; defaults come from ``config.imports``."""

    root: Path
    heavy_threshold_ms: float = 50.0
    timeout_s: float = 20.0
    python: str | None = None
    select: list[str] | None = None
    ignore: list[str] | None = None
    jobs: int = 0
    """Parallel measuring subprocesses (0: half the cores, at least 1)."""
    repeat: int = 3
    """Each uncached module is imported this many times; the fastest run counts."""
    cache_dir: Path | None = None
    use_cache: bool = True
    target_version: tuple[int, int] | None = None
    min_cost_ms: float = 5.0
    """Lazy candidates must cost at least this much (smaller ones are not worth moving)."""
    max_uses: int = 3
    """A lazy candidate is used in at most this many functions."""
    max_bytes: int = DEFAULT_MAX_BYTES
    features: list[Path] | None = None
    extra_path: list[str] = field(default_factory=list)
    check_steps: bool = True
    measure: bool = True


def options_from(config: QHubConfig | None, overrides: dict[str, Any]) -> AuditOptions:
    """Merge ``config.imports`` with keyword overrides (unknown keys are an AuditError)."""
    known = set(AuditOptions.__dataclass_fields__)
    unknown = set(overrides) - known
    if unknown:
        raise AuditError(f"unknown audit option(s): {', '.join(sorted(unknown))}")
    base: dict[str, Any] = {"root": Path.cwd()}
    if config is not None:
        base.update(
            root=config.root,
            heavy_threshold_ms=config.imports.heavy_threshold_ms,
            timeout_s=config.imports.timeout_s,
        )
    base.update({k: v for k, v in overrides.items() if v is not None})
    opts = AuditOptions(**base)
    opts.root = Path(opts.root).resolve()
    return opts


def run_audit(
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    config: QHubConfig | None = None,
    **options: Any,
) -> AuditResult:
    """Audit step modules and environment.py for heavy and redundant imports.

    ``paths`` are files or folders (empty: ``config.imports.paths``, else behave's steps
    folder and environment.py under the project root). User files are parsed, never
    imported; imported modules are timed in subprocesses of ``python``.
    """
    started = time.perf_counter()
    opts = options_from(config, options)
    active = rules.selection(opts.select, opts.ignore)
    if paths:  # given on the command line or by the caller: relative to the working folder
        targets = [Path(os.path.abspath(p)) for p in paths]
    elif config is not None and config.imports.paths:
        targets = [config.path(p) for p in config.imports.paths]
    else:
        targets = []
    settings = layout.read_behave_settings(opts.root)
    found = layout.discover(targets, opts.root, settings)
    if not found.files and not found.problems:
        raise AuditError("no Python files to audit in the given paths")

    sources: list[SourceFile] = []
    facts: dict[str, FileFacts] = {}
    env_matcher = settings.step_matcher
    for path in found.files:
        src = read_source(path, _display(path, opts.root), opts.max_bytes)
        sources.append(src)
        if src.tree is not None and src.text is not None:
            matcher = env_matcher
            facts[src.display] = analyse(src.tree, src.text, matcher)
            if found.environment is not None and path == found.environment:
                env_matcher = facts[src.display].final_matcher

    python = _resolve_python(opts.python)
    search_path = [
        *opts.extra_path,
        *(str(d) for d in found.steps_dirs),
        *([str(found.base_dir)] if found.base_dir else []),
        str(opts.root),
    ]
    measured = checks.Measured()
    notes: list[str] = []
    if opts.measure:
        measured = _measure(python, facts, opts, search_path, notes)

    ctx = checks.Context(
        sources=sources, facts=facts, measured=measured, options=opts,
        layout_problems=[(_display(p, opts.root), msg) for p, msg in found.problems],
    )
    result_findings, suppressed = checks.run_rules(ctx, active)
    if opts.check_steps and active & {"QH201", "QH202"}:
        feature_files = opts.features
        if feature_files is None:
            folder = opts.root / "features" if (opts.root / "features").is_dir() else opts.root
            from qhub.imports.steps_check import find_features

            feature_files = find_features(folder)
        step_findings, step_suppressed, step_notes = checks.step_rules(
            ctx, active, feature_files
        )
        result_findings.extend(step_findings)
        suppressed += step_suppressed
        notes.extend(step_notes)

    order = {s.display: i for i, s in enumerate(sources)}
    result_findings.sort(key=lambda f: (order.get(f.location.path, 1 << 30), f.location.path,
                                        f.location.line, f.rule))
    target = opts.target_version or measured.version_info
    return AuditResult(
        root=str(opts.root),
        files=[s.display for s in sources],
        findings=result_findings,
        modules=ctx.module_costs,
        total_load_ms=ctx.total_ms,
        saving_ms=ctx.saving_ms,
        interpreter=measured.executable or python,
        python_version=measured.version,
        target_version=target,
        suppressed=suppressed,
        elapsed_s=time.perf_counter() - started,
        notes=notes,
        sources={s.display: str(s.path) for s in sources},
    )


def _measure(
    python: str,
    facts: dict[str, FileFacts],
    opts: AuditOptions,
    search_path: list[str],
    notes: list[str],
) -> checks.Measured:
    wanted = {
        site.module
        for f in facts.values()
        for site in f.imports
        if site.module_level and not site.type_checking and site.level == 0
    }
    tops = {m.split(".")[0] for m in wanted}
    folder = None
    if opts.use_cache:
        folder = opts.cache_dir or (opts.root / ".qhub" / "importtime")
    cache = importtime.ImportTimeCache(folder)
    probe = importtime.probe(python, tops, search_path, opts.root, cache)
    local = {t for t in tops if probe.is_local(t, opts.root)}
    if local:
        notes.append(f"{len(local)} project module(s) not timed (project code is never run): "
                     + ", ".join(sorted(local)))
    to_measure = {m for m in wanted if m.split(".")[0] not in local}
    baseline = importtime.behave_baseline(python, probe, cache)
    if probe.behave_version is None:
        notes.append("behave is not installed in the target interpreter: costs are measured "
                     "from a bare interpreter")
    # half the cores: measurements running side by side slow each other down, and on a
    # loaded 2-core machine parallel timings overstated costs ~2x (bench/audit.py)
    jobs = opts.jobs or max(1, (os.cpu_count() or 2) // 2)
    results = importtime.measure_all(
        python, to_measure, probe, search_path, opts.root,
        cache=cache, timeout_s=opts.timeout_s, jobs=jobs, repeat=max(1, opts.repeat),
    )
    return checks.Measured(
        results=results, local=local, baseline=baseline, executable=probe.executable,
        version=probe.version, version_info=probe.version_info,
    )


def _resolve_python(python: str | None) -> str:
    if not python:
        return importtime.default_python()
    found = shutil.which(python)
    if found is None:
        raise AuditError(f"interpreter {python!r} not found")
    return os.path.abspath(found)


def _display(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, or absolute when outside it."""
    absolute = os.path.abspath(path)
    prefix = str(root).rstrip(os.sep) + os.sep
    shown = absolute[len(prefix):] if absolute.startswith(prefix) else absolute
    return shown.replace(os.sep, "/")


def default_fail_on(config: QHubConfig | None) -> Severity:
    return Severity.parse(config.imports.fail_on) if config is not None else Severity.ERROR
