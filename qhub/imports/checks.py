"""The rules: turn file facts and measured import costs into findings."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub.imports import rules
from qhub.imports.analysis import Binding, FileFacts, ImportSite
from qhub.imports.attribution import Attribution, SiteKey, standalone_ms
from qhub.imports.importtime import Measurement
from qhub.imports.model import Finding, Location, ModuleCost, Severity
from qhub.imports.sources import SourceFile

if TYPE_CHECKING:
    from qhub.imports.auditor import AuditOptions


@dataclass
class Measured:
    """Import measurements for one audit."""

    results: dict[str, Measurement] = field(default_factory=dict)
    local: set[str] = field(default_factory=set)
    baseline: set[str] = field(default_factory=set)
    executable: str = ""
    version: str = ".".join(map(str, sys.version_info[:3]))
    version_info: tuple[int, int] = (sys.version_info[0], sys.version_info[1])


@dataclass
class Move:
    """A lazy candidate: move this module-level import into these functions."""

    path: str
    line: int
    module: str
    owners: list[int]
    names: list[str]


@dataclass
class Context:
    """Inputs of the rules, and the figures they compute along the way."""

    sources: list[SourceFile]
    facts: dict[str, FileFacts]
    measured: Measured
    options: AuditOptions
    layout_problems: list[tuple[str, str]] = field(default_factory=list)
    module_costs: dict[str, ModuleCost] = field(default_factory=dict)
    total_ms: float = 0.0
    saving_ms: float = 0.0
    moves: list[Move] = field(default_factory=list)
    sites: list[SiteKey] = field(default_factory=list)
    paid: dict[SiteKey, float] = field(default_factory=dict)
    attribution: Attribution | None = None
    sites_of: dict[str, list[SiteKey]] = field(default_factory=dict)
    saving_all: dict[str, float] = field(default_factory=dict)

    def saving(self, moved: Iterable[SiteKey]) -> float:
        """Start-up milliseconds saved if the ``moved`` imports no longer ran at load time."""
        return self.attribution.saving(moved) if self.attribution is not None else 0.0


class _Emitter:
    def __init__(self, ctx: Context, active: set[str]) -> None:
        self.ctx = ctx
        self.active = active
        self.findings: list[Finding] = []
        self.suppressed = 0

    def __call__(
        self,
        rule_id: str,
        path: str,
        line: int,
        message: str,
        suggestion: str,
        *,
        end_line: int | None = None,
        module: str | None = None,
        related: Sequence[Location] = (),
        severity: Severity | None = None,
        data: dict[str, Any] | None = None,
    ) -> bool:
        if rule_id not in self.active:
            return False
        facts = self.ctx.facts.get(path)
        tokens = facts.suppressed(line, end_line) if facts is not None and facts.suppress else None
        if tokens and rules.suppressed_by(rule_id, tokens):
            self.suppressed += 1
            return False
        rule = rules.BY_ID[rule_id]
        self.findings.append(Finding(
            rule=rule_id, name=rule.name, severity=severity or rule.severity,
            location=Location(path, line), message=message, suggestion=suggestion,
            module=module, related=list(related), data=data or {},
        ))
        return True


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def run_rules(ctx: Context, active: set[str]) -> tuple[list[Finding], int]:
    """Every file and import rule; fills ``ctx`` figures (costs, totals, moves)."""
    emit = _Emitter(ctx, active)
    opts = ctx.options
    for path, message in ctx.layout_problems:
        emit("QH002", path, 1, message, "fix or remove the entry")
    for src in ctx.sources:
        if src.problem is not None:
            rule_id, line, message = src.problem
            emit(rule_id, src.display, line, message, _PROBLEM_FIX[rule_id])
        elif src.text is not None and not src.text.strip() and src.path.name != "__init__.py":
            emit("QH004", src.display, 1, "empty step module: behave loads it for nothing",
                 "delete the file or add the step definitions it was meant to hold")

    _costs(ctx)
    target = opts.target_version or ctx.measured.version_info
    for path, facts in ctx.facts.items():
        _file_rules(ctx, emit, path, facts, target)
    _redundant(ctx, emit)
    lazy_keys = {SiteKey(m.path, m.line, m.module) for m in ctx.moves}
    ctx.saving_ms = ctx.saving(lazy_keys)
    return emit.findings, emit.suppressed


_PROBLEM_FIX = {
    "QH001": "fix the syntax error: behave stops when it loads this file",
    "QH002": "make the file readable UTF-8 (or declare its encoding), or remove it",
    "QH003": "split the file, or generate it outside the steps folder",
}


def _costs(ctx: Context) -> None:
    m = ctx.measured
    importers: dict[str, list[Location]] = {}
    for src in ctx.sources:
        facts = ctx.facts.get(src.display)
        if facts is None:
            continue
        for site in facts.imports:
            if not site.module_level or site.type_checking:
                continue
            importers.setdefault(site.module, []).append(Location(src.display, site.line))
            if site.module in m.results:
                key = SiteKey(src.display, site.line, site.module)
                ctx.sites.append(key)
                ctx.sites_of.setdefault(site.module, []).append(key)
    trees = {name: r.self_us for name, r in m.results.items()}
    ctx.attribution = Attribution(ctx.sites, trees, m.baseline)
    ctx.paid, ctx.total_ms = ctx.attribution.paid, ctx.attribution.total_ms
    for name, r in m.results.items():
        first = ctx.sites_of.get(name, [None])[0]
        status = "measured" if r.ok else ("timeout" if r.timeout else "failed")
        top = r.self_us.get(name, 0) / 1000.0
        ctx.module_costs[name] = ModuleCost(
            module=name, status=status, standalone_ms=standalone_ms(r.self_us, m.baseline),
            cumulative_ms=r.cumulative_us / 1000.0, self_ms=top,
            paid_by=None if first is None else Location(first.path, first.line),
            paid_ms=ctx.paid.get(first, 0.0) if first else 0.0,
            importers=importers.get(name, []), error=r.error, cached=r.cached,
        )
    for name, locs in importers.items():
        if name not in ctx.module_costs and (name.startswith(".") or name.split(".")[0] in m.local):
            ctx.module_costs[name] = ModuleCost(module=name, status="local", importers=locs)


def _label(facts: FileFacts, owner: int) -> str:
    info = facts.functions.get(owner)
    if info is None:
        return f"line {owner}"
    if info.steps:
        return f'"{info.steps[0]}" ({info.name}, line {info.line})'
    return f"{info.name}() (line {info.line})"


def _statement(site: ImportSite, bindings: Sequence[Binding]) -> str:
    names = ", ".join(
        b.alias.name + (f" as {b.alias.asname}" if b.alias.asname else "") for b in bindings
    )
    if isinstance(site.node, ast.ImportFrom):
        return f"from {site.module} import {names}"
    return f"import {names}"


def _loader_hint(site: ImportSite, used: Sequence[Binding]) -> str:
    """How to make this import lazy with qhub's run-time helpers, in valid code."""
    first = used[0]
    if isinstance(site.node, ast.ImportFrom):
        alias = site.module.rsplit(".", 1)[-1]
        return (f"`{alias} = create_lazy_loader('{site.module}')` (qhub.imports) and use "
                f"`{alias}.{first.alias.name}`")
    if first.alias.asname:
        return (f"`@lazy_import('{site.module}', name='{first.name}')` on those functions, or "
                f"`{first.name} = create_lazy_loader('{site.module}')` (qhub.imports)")
    if "." in site.module:
        return f"`@lazy_import('{site.module}')` on those functions (qhub.imports)"
    return (f"`@lazy_import('{site.module}')` on those functions, or "
            f"`{first.name} = create_lazy_loader('{site.module}')` (qhub.imports)")


def _pep810_hint(site: ImportSite, used: Sequence[Binding]) -> str:
    return (f"`lazy {_statement(site, used)}` (PEP 810), or list '{site.module}' in "
            "`__lazy_modules__`")


def _pay_sentence(ctx: Context, key: SiteKey, cost: ModuleCost) -> tuple[str, dict[str, Any]]:
    paid = ctx.paid.get(key, 0.0)
    all_keys = ctx.sites_of.get(key.module, [])
    alone = ctx.saving([key])
    if key.module not in ctx.saving_all:
        ctx.saving_all[key.module] = ctx.saving(all_keys)
    every = ctx.saving_all[key.module]
    data = {
        "standalone_ms": round(cost.standalone_ms, 3),
        "cumulative_ms": round(cost.cumulative_ms, 3),
        "paid_ms": round(paid, 3),
        "saving_alone_ms": round(alone, 3),
        "saving_all_ms": round(every, 3),
        "paid_by": None if cost.paid_by is None else f"{cost.paid_by.path}:{cost.paid_by.line}",
    }
    others = len(all_keys) - 1
    if cost.paid_by is not None and (cost.paid_by.path, cost.paid_by.line) == (key.path, key.line):
        text = f"this file pays {_ms(paid)} as the first importer in behave's load order"
    else:
        where = f"{cost.paid_by.path}:{cost.paid_by.line}" if cost.paid_by else "an earlier file"
        text = f"already loaded by {where}, so this import costs {_ms(paid)} here"
    text += f"; moving only this import saves {_ms(alone)}"
    if others:
        text += (f" ({others} other module-level import(s) still load it; making all of them "
                 f"lazy saves {_ms(every)})")
    return text, data


def _file_rules(
    ctx: Context, emit: _Emitter, path: str, facts: FileFacts, target: tuple[int, int]
) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for site in facts.imports:
        end = site.end_line
        keys = [(site.owner, site.module, "*")] if site.star else [
            (site.owner, site.module, b.alias.name, b.name) for b in site.bindings
        ]
        for k in keys:
            if k in seen:
                emit("QH104", path, site.line,
                     f"`{k[-1] if not site.star else site.module + '.*'}` from `{site.module}` "
                     f"is already imported on line {seen[k]}",
                     "delete this import", end_line=end, module=site.module,
                     related=[Location(path, seen[k])])
            else:
                seen[k] = site.line
        if site.in_loop:
            emit("QH107", path, site.line,
                 f"`import {site.module}` inside a loop looks the module up on every iteration",
                 "import it once, above the loop (at the top of the function)",
                 end_line=end, module=site.module)
        if not site.module_level or site.type_checking:
            continue
        _module_level_rules(ctx, emit, path, facts, site, target=target)
    for line, what in facts.reimports:
        emit("QH107", path, line, f"{what}: the module is executed or looked up again needlessly",
             "import once at the top of the function (or module) and reuse the module")
    for line, what in facts.sys_path:
        emit("QH108", path, line,
             f"{what} in a step file: imports then depend on behave's load order and the "
             "working folder",
             "make the helpers an installable package, or set `pythonpath` in pytest/behave "
             "config / PYTHONPATH instead of changing sys.path at import time")


def _module_level_rules(
    ctx: Context, emit: _Emitter, path: str, facts: FileFacts, site: ImportSite,
    *, target: tuple[int, int],
) -> None:
    opts = ctx.options
    result = ctx.measured.results.get(site.module)
    cost = ctx.module_costs.get(site.module)
    key = SiteKey(path, site.line, site.module)
    end = site.end_line
    if result is not None and not result.ok and not site.guarded:
        emit("QH100", path, site.line, f"`{site.module}` fails to import: {result.error}",
             "install the missing package, fix the module, or guard the import with "
             "try/except ImportError", end_line=end, module=site.module,
             data={"error": result.error, "timeout": result.timeout})
    ok_cost = cost if (result is not None and result.ok and cost is not None) else None
    standalone = ok_cost.standalone_ms if ok_cost else 0.0
    heavy = ok_cost is not None and standalone >= opts.heavy_threshold_ms
    if site.star:
        if heavy and ok_cost is not None:
            sentence, data = _pay_sentence(ctx, key, ok_cost)
            emit("QH106", path, site.line,
                 f"`from {site.module} import *` loads a heavy module "
                 f"({_ms(standalone)}); {sentence}",
                 "import the names you need inside the steps that use them",
                 end_line=end, module=site.module, data=data)
        return
    unused = [b for b in site.bindings
              if not facts.uses[b.name].used and b.name not in facts.all_names]
    if not site.guarded:
        for b in unused:
            extra = f" (it costs {_ms(standalone)} at start-up)" if standalone >= 1 else ""
            emit("QH103", path, site.line, f"`{b.name}` is imported but never used{extra}",
                 f"delete the import of `{b.name}`", end_line=end, module=site.module)
    used = [b for b in site.bindings if b not in unused]
    if not used or ok_cost is None:
        return
    owners: set[int] = set()
    for b in used:
        owners |= set(facts.uses[b.name].owners)
    at_module = any(facts.uses[b.name].module_lines for b in used)
    movable = (
        not at_module
        and 1 <= len(owners) <= opts.max_uses
        and site.top_stmt and not site.guarded and not unused
        and all(o in facts.functions and not facts.functions[o].inline_body
                and facts.functions[o].name not in facts.module_calls
                and not ({b.name for b in used} & facts.functions[o].globals_declared)
                for o in owners)
    )
    sentence, data = _pay_sentence(ctx, key, ok_cost)
    if movable and standalone >= opts.min_cost_ms:
        ordered = sorted(owners)
        labels = [_label(facts, o) for o in ordered]
        names = [facts.functions[o].name for o in ordered]
        data["functions"] = labels
        data["owners"] = ordered
        data["names"] = [b.name for b in used]
        emitted = emit("QH102", path, site.line,
             f"`{site.module}` ({_ms(standalone)}) is imported at module level but used only "
             f"in {len(owners)} function(s): {'; '.join(labels)}; {sentence}",
             f"move the import into {', '.join(sorted(set(names)))} (`qhub audit --diff` does "
             f"it), or write " + (_pep810_hint(site, used) if target >= (3, 15)
                                   else _loader_hint(site, used)),
             end_line=end, module=site.module,
             severity=Severity.WARNING if heavy else Severity.INFO, data=data)
        if emitted:
            ctx.moves.append(Move(path, site.line, site.module, ordered, data["names"]))
    elif heavy:
        run_at_load = sorted(facts.functions[o].name for o in owners if o in facts.functions
                             and facts.functions[o].name in facts.module_calls)
        if at_module:
            why = "used at module level"
        elif run_at_load:
            why = f"used by {', '.join(run_at_load)}(), called at import time"
        else:
            why = f"used in {len(owners)} functions"
        emit("QH101", path, site.line,
             f"`{site.module}` costs {_ms(standalone)} to import ({why}); {sentence}",
             "load it on first use: write " + (
                 _pep810_hint(site, used) if target >= (3, 15) else _loader_hint(site, used)
             ) + ", or import it inside the functions that need it",
             end_line=end, module=site.module, data=data)


def _redundant(ctx: Context, emit: _Emitter) -> None:
    for name, cost in ctx.module_costs.items():
        if cost.status != "measured" or cost.standalone_ms < ctx.options.heavy_threshold_ms:
            continue
        files = list(dict.fromkeys(loc.path for loc in cost.importers))
        if len(files) < 3 or cost.paid_by is None:
            continue
        using = 0
        for path in files:
            facts = ctx.facts[path]
            for site in facts.imports:
                if site.module == name and site.module_level:
                    for b in site.bindings:
                        use = facts.uses[b.name]
                        using += len(use.owners) + len(use.module_lines)
        if using > len(files):
            continue
        key = SiteKey(cost.paid_by.path, cost.paid_by.line, name)
        _sentence, data = _pay_sentence(ctx, key, cost)
        data["files"] = files
        data["uses"] = using
        emit("QH105", cost.paid_by.path, cost.paid_by.line,
             f"`{name}` ({_ms(cost.standalone_ms)}) is imported at module level by {len(files)} "
             f"files but used in only {using} place(s); only this first importer pays, so "
             f"moving it alone saves {_ms(data['saving_alone_ms'])}; moving all of them saves "
             f"{_ms(data['saving_all_ms'])}",
             "import it only inside the steps that use it, in every file",
             module=name, data=data,
             related=[loc for loc in cost.importers if loc != cost.paid_by])


def step_rules(
    ctx: Context,
    active: set[str],
    feature_files: Sequence[Path],
) -> tuple[list[Finding], int, list[str]]:
    """Ambiguous and unused step definitions across every audited file."""
    from qhub.imports import steps_check as sc

    emit = _Emitter(ctx, active)
    notes: list[str] = []
    defs = sc.compile_definitions(
        sc.Definition(path, sd.line, sd.keyword, sd.pattern, sd.matcher)
        for path, facts in ctx.facts.items()
        for sd in facts.steps
    )
    if not defs:
        return [], 0, notes
    for new, old in sc.find_ambiguous(defs):
        emit("QH201", new.path, new.line,
             f'{new.keyword.capitalize()} "{new.pattern}" is already matched by '
             f'{old.path}:{old.line} ({old.keyword.capitalize()} "{old.pattern}"): behave '
             "stops with AmbiguousStep while loading steps",
             "delete one definition, or make the patterns distinct",
             related=[Location(old.path, old.line)])
    if "QH202" in active:
        if not feature_files:
            notes.append("no feature files found: unused step definitions were not checked")
        else:
            uses, problems = sc.feature_steps(feature_files)
            notes.extend(problems)
            uses.extend(sc.executed_step_uses(
                t for f in ctx.facts.values() for t in f.executed_steps))
            for d in sc.find_unused(defs, uses):
                emit("QH202", d.path, d.line,
                     f'no step in {len(feature_files)} feature file(s) uses '
                     f'{d.keyword.capitalize()} "{d.pattern}"',
                     "delete the definition, or add the scenario that needs it")
    return emit.findings, emit.suppressed, notes
