"""QH101, QH102, QH105, QH106: heavy imports on the step-loading path, with their costs.

Every figure comes from :class:`qhub.audit.costs.CostModel`: what the import costs where
it stands in behave's load order, what moving *only* it saves (zero when another import
loads the same module anyway) and what moving every import of that module saves. A
helper module's imports are reported at their own line, with the chain of imports that
brings behave there.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qhub.audit.costs import CostModel, SiteKey
from qhub.audit.facts import Binding, FileFacts, ImportSite
from qhub.audit.loadorder import HOOK_PREFIXES, ExternalImport, Unit
from qhub.audit.model import Location, Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext, chain_locations, chain_text, ms

_HOOK_PREFIXES = ("before_", "after_")
_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})
_AT_LOAD = "\0"
"""Marks a reason that means "the module is needed while steps load anyway"."""
_REGISTRATION_BASES = ("behave.", "cucumber_expressions.", "parse.", "parse_type.")
"""Classes derived from these run their methods while behave loads steps."""
"""environment.py functions behave calls as hooks (``before_all``, ``after_scenario``...)."""

RULES = (
    Rule("QH101", "heavy-import", Severity.WARNING,
         "A heavy module is imported at module level where it cannot simply move into a "
         "function."),
    Rule("QH102", "lazy-candidate", Severity.INFO,
         "A module-level import is used only inside one or a few functions: moving it there "
         "takes it off the step-loading path."),
    Rule("QH105", "redundant-across-files", Severity.WARNING,
         "A heavy module is imported at module level by many files but used by few steps."),
    Rule("QH106", "star-import", Severity.WARNING, "``from heavy import *`` loads a heavy module."),
)


@dataclass
class _Site:
    """One import statement of an installed module, and whether it can move."""

    ext: ExternalImport
    key: SiteKey
    unit: Unit
    module: str
    used: list[Binding]
    targets: list[int]
    """Def lines of the functions the import would move into."""
    why: str | None
    """Why it cannot move into the functions that use it (None: it can)."""
    hook: bool = False
    """Needed anyway (an environment.py hook, code behave or a module runs while loading):
    nothing to advise."""


def check(ctx: RuleContext, emit: Emit) -> None:
    costs = ctx.costs
    if costs is None:
        return
    seen: set[SiteKey] = set()
    by_module: dict[str, list[_Site]] = {}
    for ext in ctx.trace.externals:
        key = SiteKey(ext.unit, ext.site.line, ext.form)
        unit = ctx.trace.units[ext.unit]
        measured = ctx.measured.get(ext.form)
        if key in seen or unit.role == "library" or unit.facts is None:
            continue
        seen.add(key)
        if measured is None or not measured.ok:
            continue
        site = _analyse(ctx, emit, costs, unit=unit, ext=ext, key=key)
        if site is not None:
            by_module.setdefault(site.module, []).append(site)
    for sites in by_module.values():
        _module_rules(ctx, emit, costs, sites)
    _redundant(ctx, emit, costs, by_module)


def _module(ext: ExternalImport) -> str:
    """The module an import statement names (``a.b`` for ``from a.b import c``)."""
    return ext.form.split()[1]


def _via(ext: ExternalImport, unit: Unit, module: str, paid: float) -> str:
    if not ext.chain:
        return ""
    here = Location(unit.display, ext.site.line)
    return f" (behave gets here through {chain_text(ext.chain, here, module, paid)})"


def _analyse(ctx: RuleContext, emit: Emit, costs: CostModel, *, unit: Unit,
             ext: ExternalImport, key: SiteKey) -> _Site | None:
    """Star imports are reported here; other used imports are returned for the module
    rules (unused ones belong to QH103 or ruff)."""
    facts = unit.facts
    assert facts is not None
    site = ext.site
    module = _module(ext)
    if site.star:
        paid = costs.paid_ms(key)
        library = module.split(".")[0] in ctx.trace.step_libraries
        if paid >= ctx.options.heavy_threshold_ms and not library:
            emit("QH106", unit.display, site.line,
                 f"`from {module} import *` costs {ms(paid)} of step loading here"
                 f"{_via(ext, unit, module, paid)}, and hides which names the file uses",
                 "import the names you need inside the steps that use them",
                 end_line=site.end_line, module=module, chain=chain_locations(ext.chain),
                 data=_figures(ctx, costs, ext, key, costs.saving([key])))
        return None
    unused = [b for b in site.bindings if not _used(facts, b)]
    if len(unused) == len(site.bindings):
        return None
    used = [b for b in site.bindings if b not in unused]
    targets: set[int] = set()
    for b in used:
        targets |= facts.uses[b.name].targets
    at_module = sorted({ln for b in used for ln in facts.uses[b.name].module_lines})
    exported = ctx.trace.imported_names.get(unit.display, set())
    reexported = sorted(b.name for b in used if b.name in exported)
    hooks = sorted(facts.functions[t].name for t in targets if t in facts.functions
                   and facts.functions[t].outer is None and "environment" in unit.roles
                   and facts.functions[t].name.startswith(HOOK_PREFIXES))
    if hooks:
        return _Site(ext, key, unit, module, used, sorted(targets),
                     f"used by the {hooks[0]}() hook, which runs on every behave run anyway",
                     hook=True)
    loadtime = ctx.trace.loadtime_names.get(unit.display, set())
    hooked = ctx.trace.hook_names.get(unit.display, set())
    methods = ctx.trace.hook_methods | _CONSTRUCTORS
    called = sorted(
        f"{info.cls}.{info.name}" if info.cls else info.name
        for info in (facts.functions[t] for t in targets if t in facts.functions)
        if info.outer is None and (
            (info.cls is None and info.name in hooked)
            or (info.cls in hooked and info.name in methods)))
    if called:
        return _Site(ext, key, unit, module, used, sorted(targets),
                     f"used by {called[0]}(), which environment.py's hooks use on every run",
                     hook=True)
    why = _why_not_movable(ctx, facts, site, used=used, unused=unused, targets=targets,
                           at_module=at_module, reexported=reexported, loadtime=loadtime)
    if why is not None and why.startswith(_AT_LOAD):  # needed while loading: nothing to advise
        return _Site(ext, key, unit, module, used, sorted(targets), why[len(_AT_LOAD):],
                     hook=True)
    return _Site(ext, key, unit, module, used, sorted(targets), why)


def _figures(ctx: RuleContext, costs: CostModel, ext: ExternalImport, key: SiteKey,
             together: float) -> dict[str, Any]:
    return {
        "standalone_ms": round(costs.standalone_ms(ext.form), 3),
        "cumulative_ms": round(ctx.measured[ext.form].cumulative_us / 1000.0, 3),
        "paid_ms": round(costs.paid_ms(key), 3),
        "saving_alone_ms": round(costs.saving([key]), 3),
        "saving_all_ms": round(together, 3),
    }


def _module_rules(ctx: RuleContext, emit: Emit, costs: CostModel, sites: list[_Site]) -> None:
    """QH102 for imports that can move, QH101 for the ones that keep a heavy module loaded."""
    opts = ctx.options
    keys = [s.key for s in sites]
    movable = [s for s in sites if s.why is None
               and costs.standalone_ms(s.ext.form) >= opts.min_cost_ms]
    movable_keys = [s.key for s in movable]
    with_movable = costs.saving(movable_keys)
    with_all = costs.saving(keys)
    for s in movable:
        alone = costs.saving([s.key])
        achievable = max(alone, with_movable)
        if achievable < opts.min_cost_ms:
            continue  # kept loaded by imports that cannot move: their QH101 is the advice
        facts = s.unit.facts
        assert facts is not None
        site = s.ext.site
        standalone = costs.standalone_ms(s.ext.form)
        paid = costs.paid_ms(s.key)
        others = [o for o in sites[:4] if o is not s][:3]
        n_others = len(sites) - 1
        labels = [_label(facts, t) for t in s.targets]
        names = sorted({facts.functions[t].name for t in s.targets})
        data = _figures(ctx, costs, s.ext, s.key, with_movable)
        data.update(functions=labels, targets=s.targets, names=[b.name for b in s.used],
                    others=n_others, saving_with_blockers_ms=round(with_all, 3))
        if not n_others:
            sentence = f"moving it into them saves {ms(alone)} of step loading"
        else:
            listed = "; ".join(
                f"{o.key.path}:{o.key.line}" + ("" if o.why is None else f" (cannot move: {o.why})")
                for o in others)
            more = f" and {n_others - len(others)} more" if n_others > len(others) else ""
            sentence = (f"moving only this import saves {ms(alone)}, because other imports "
                        f"also load it: {listed}{more}; moving every movable one saves "
                        f"{ms(with_movable)}")
            if with_all > with_movable:
                sentence += f", and making the others lazy too saves {ms(with_all)}"
        emit("QH102", s.unit.display, site.line,
             f"`{s.module}` ({ms(standalone)}) is imported at module level but used only in "
             f"{len(s.targets)} function(s): {'; '.join(labels)}; {sentence}"
             f"{_via(s.ext, s.unit, s.module, paid)}",
             f"move the import into {', '.join(names)} (`qhub audit --diff` does it), or "
             + _hint(ctx.target, site, s.used),
             end_line=site.end_line, module=s.module, chain=chain_locations(s.ext.chain),
             data=data,
             severity=Severity.WARNING if achievable >= opts.heavy_threshold_ms
             else Severity.INFO)
    blockers = [s for s in sites if s.why is not None and not s.hook]
    first_blocker = blockers[0] if blockers else None
    for s in blockers:
        paid = costs.paid_ms(s.key)
        standalone = costs.standalone_ms(s.ext.form)
        if standalone < opts.heavy_threshold_ms:
            continue
        if paid < opts.heavy_threshold_ms and not (
                s is first_blocker and with_all >= opts.heavy_threshold_ms):
            continue
        site = s.ext.site
        if paid >= opts.heavy_threshold_ms:
            where = (f"costs {ms(paid)} of step loading here, the first import of it in "
                     "behave's load order")
        else:
            where = (f"({ms(standalone)}) keeps it loaded at step loading even when the "
                     f"other imports of it move; lazy everywhere it saves {ms(with_all)}")
        emit("QH101", s.unit.display, site.line,
             f"`{s.module}` {where}{_via(s.ext, s.unit, s.module, paid)}; it cannot simply "
             f"move into a function: {s.why}",
             _blocker_fix(ctx, s),
             end_line=site.end_line, module=s.module, chain=chain_locations(s.ext.chain),
             data=_figures(ctx, costs, s.ext, s.key, with_all))


def _blocker_fix(ctx: RuleContext, s: _Site) -> str:
    facts = s.unit.facts
    assert facts is not None
    if all(b.name in facts.keep_names and not facts.uses[b.name].used for b in s.used):
        return ("import it under `if typing.TYPE_CHECKING:` (type checkers are its only "
                "users)")
    return ("load it on first use: " + _hint(ctx.target, s.ext.site, s.used)
            + ", or move the module-level code that needs it into the steps")


def _used(facts: FileFacts, b: Binding) -> bool:
    return (facts.uses[b.name].used or b.name in facts.all_names
            or b.name in facts.keep_names)


def _why_not_movable(
    ctx: RuleContext, facts: FileFacts, site: ImportSite, *, used: Sequence[Binding],
    unused: Sequence[Binding], targets: set[int], at_module: list[int], reexported: list[str],
    loadtime: set[str],
) -> str | None:
    """Why the import cannot move into the functions that use it (None: it can)."""
    if at_module:
        return f"used at module level (line {at_module[0]})"
    if reexported:
        return f"other modules import {', '.join(f'`{n}`' for n in reexported)} from this file"
    if any(b.name in facts.all_names for b in used):
        return "listed in __all__"
    if site.guarded or site.conditional or not site.top_stmt:
        return "imported inside a try/if/with block"
    if unused:
        return "the same statement imports names that are not used"
    if not targets:
        return "used only in type comments or string annotations"
    if len(targets) > ctx.options.max_uses:
        return f"used in {len(targets)} functions"
    for t in sorted(targets):
        info = facts.functions.get(t)
        if info is None:
            return f"used in a lambda (line {-t})"
        if info.inline_body:
            return f"{info.name}() has its body on the `def` line"
        bases = facts.class_bases.get(info.cls or "", [])
        if info.cls is not None and any(b.startswith(_REGISTRATION_BASES) for b in bases):
            return (f"{_AT_LOAD}{info.cls}.{info.name}() is called by behave while it registers "
                    "steps (a step-matcher or parameter-type class)")
        if info.outer is None and info.name in facts.module_calls:
            return f"{_AT_LOAD}used by {info.name}(), which is called at import time"
        if info.outer is None and info.name in loadtime:
            return f"{_AT_LOAD}used by {info.name}(), which another module calls at import time"
        if {b.name for b in used} & info.globals_declared:
            return f"{info.name}() declares it global"
    return None


def _label(facts: FileFacts, target: int) -> str:
    info = facts.functions.get(target)
    if info is None:
        return f"line {abs(target)}"
    if info.steps:
        return f'"{info.steps[0]}" ({info.name}, line {info.line})'
    inside = f" in {info.outer}()" if info.outer else ""
    return f"{info.name}(){inside} (line {info.line})"


def _statement(site: ImportSite, bindings: Sequence[Binding]) -> str:
    names = ", ".join(
        b.alias.name + (f" as {b.alias.asname}" if b.alias.asname else "") for b in bindings
    )
    if isinstance(site.node, ast.ImportFrom):
        return f"from {site.module} import {names}"
    return f"import {names}"


def _hint(target: tuple[int, int], site: ImportSite, used: Sequence[Binding]) -> str:
    """How to make this import lazy, in valid code for the target Python."""
    if target >= (3, 15):
        return (f"write `lazy {_statement(site, used)}` (PEP 810), or list '{site.module}' in "
                "`__lazy_modules__`")
    first = used[0]
    if isinstance(site.node, ast.ImportFrom):
        alias = site.module.rsplit(".", 1)[-1]
        return (f"write `{alias} = create_lazy_loader('{site.module}')` (qhub.imports) and use "
                f"`{alias}.{first.alias.name}`")
    if first.alias.asname:
        return (f"write `@lazy_import('{site.module}', name='{first.name}')` on those functions, "
                f"or `{first.name} = create_lazy_loader('{site.module}')` (qhub.imports)")
    if "." in site.module:
        return f"write `@lazy_import('{site.module}')` on those functions (qhub.imports)"
    return (f"write `@lazy_import('{site.module}')` on those functions, or "
            f"`{first.name} = create_lazy_loader('{site.module}')` (qhub.imports)")


def _redundant(ctx: RuleContext, emit: Emit, costs: CostModel,
               by_module: dict[str, list[_Site]]) -> None:
    threshold = ctx.options.heavy_threshold_ms
    for module, sites in by_module.items():
        files = list(dict.fromkeys(s.unit.display for s in sites))
        if len(files) < 3:
            continue
        first = sites[0]
        standalone = costs.standalone_ms(first.ext.form)
        together = costs.saving([s.key for s in sites])
        if standalone < threshold or together < threshold:
            continue
        uses = 0
        for s in sites:
            facts = s.unit.facts
            assert facts is not None
            for b in s.ext.site.bindings:
                use = facts.uses[b.name]
                uses += len(use.owners) + len(use.module_lines)
        if uses > len(files):
            continue
        emit("QH105", first.unit.display, first.ext.site.line,
             f"`{module}` ({ms(standalone)}) is imported at module level by {len(files)} files "
             f"but used in only {uses} place(s); only this first import pays, so moving it "
             f"alone saves {ms(costs.saving([first.key]))}; moving all of them saves "
             f"{ms(together)}",
             "import it only inside the steps that use it, in every file",
             module=module, chain=chain_locations(first.ext.chain),
             related=[Location(s.unit.display, s.ext.site.line) for s in sites[1:]],
             data={"files": files, "uses": uses, "saving_all_ms": round(together, 3)})
