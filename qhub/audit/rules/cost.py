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
from typing import Any

from qhub.audit.costs import CostModel, SiteKey
from qhub.audit.facts import Binding, FileFacts, ImportSite
from qhub.audit.loadorder import ExternalImport, Unit
from qhub.audit.model import Location, Severity
from qhub.audit.rules.base import Emit, Rule, RuleContext, chain_locations, chain_text, ms

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


def check(ctx: RuleContext, emit: Emit) -> None:
    costs = ctx.costs
    if costs is None:
        return
    seen: set[SiteKey] = set()
    by_module: dict[str, list[tuple[ExternalImport, SiteKey]]] = {}
    for ext in ctx.trace.externals:
        key = SiteKey(ext.unit, ext.site.line, ext.form)
        unit = ctx.trace.units[ext.unit]
        measured = ctx.measured.get(ext.form)
        if key in seen or unit.role == "library" or unit.facts is None:
            continue
        seen.add(key)
        if measured is None or not measured.ok:
            continue
        by_module.setdefault(_module(ext), []).append((ext, key))
        _site_rules(ctx, emit, costs, unit=unit, ext=ext, key=key)
    _redundant(ctx, emit, costs, by_module)


def _module(ext: ExternalImport) -> str:
    """The module an import statement names (``a.b`` for ``from a.b import c``)."""
    return ext.form.split()[1]


def _site_rules(ctx: RuleContext, emit: Emit, costs: CostModel, *, unit: Unit,
                ext: ExternalImport, key: SiteKey) -> None:
    opts = ctx.options
    facts = unit.facts
    assert facts is not None
    site = ext.site
    module = _module(ext)
    standalone = costs.standalone_ms(ext.form)
    paid = costs.paid_ms(key)
    chain = chain_locations(ext.chain)
    here = Location(unit.display, site.line)
    via = f" (behave gets here through {chain_text(ext.chain, here, module, paid)})" if (
        ext.chain) else ""
    others = costs.also_loading(module, {key})
    alone = costs.saving([key])
    together = costs.saving([key, *others])
    data: dict[str, Any] = {
        "standalone_ms": round(standalone, 3),
        "cumulative_ms": round(ctx.measured[ext.form].cumulative_us / 1000.0, 3),
        "paid_ms": round(paid, 3),
        "saving_alone_ms": round(alone, 3),
        "saving_all_ms": round(together, 3),
        "others": [f"{s.path}:{s.line}" for s in others],
    }
    if site.star:
        if paid >= opts.heavy_threshold_ms:
            emit("QH106", unit.display, site.line,
                 f"`from {module} import *` costs {ms(paid)} of step loading here{via}, and "
                 "hides which names the file uses",
                 "import the names you need inside the steps that use them",
                 end_line=site.end_line, module=module, chain=chain, data=data)
        return
    unused = [b for b in site.bindings if not _used(facts, b)]
    if len(unused) == len(site.bindings):
        return  # unused: QH103 (when it costs time) or ruff's F401
    used = [b for b in site.bindings if b not in unused]
    owners: set[int] = set()
    for b in used:
        owners |= set(facts.uses[b.name].owners)
    at_module = sorted({ln for b in used for ln in facts.uses[b.name].module_lines})
    exported = ctx.trace.imported_names.get(unit.display, set())
    reexported = sorted(b.name for b in used if b.name in exported or "*" in exported)
    why = _why_not_movable(ctx, facts, site, used=used, unused=unused, owners=owners,
                           at_module=at_module, reexported=reexported)
    if why is None and standalone >= opts.min_cost_ms:
        ordered = sorted(owners)
        labels = [_label(facts, o) for o in ordered]
        names = sorted({facts.functions[o].name for o in ordered})
        data.update(functions=labels, owners=ordered, names=[b.name for b in used])
        if not others:
            sentence = f"moving it into them saves {ms(alone)} of step loading"
        else:
            listed = ", ".join(f"{s.path}:{s.line}" for s in others[:2])
            more = f" and {len(others) - 2} more" if len(others) > 2 else ""
            sentence = (f"moving only this import saves {ms(alone)}: {len(others)} other "
                        f"import(s) also load it ({listed}{more}); moving all of them saves "
                        f"{ms(together)}")
        emit("QH102", unit.display, site.line,
             f"`{module}` ({ms(standalone)}) is imported at module level but used only in "
             f"{len(owners)} function(s): {'; '.join(labels)}; {sentence}{via}",
             f"move the import into {', '.join(names)} (`qhub audit --diff` does it), or "
             + _hint(ctx.target, site, used),
             end_line=site.end_line, module=module, chain=chain, data=data,
             severity=Severity.WARNING if standalone >= opts.heavy_threshold_ms
             else Severity.INFO)
        return
    if why is not None and paid >= opts.heavy_threshold_ms:
        emit("QH101", unit.display, site.line,
             f"`{module}` costs {ms(paid)} of step loading here, the first import of it in "
             f"behave's load order{via}; it cannot simply move into a function: {why}",
             "load it on first use: " + _hint(ctx.target, site, used)
             + ", or move the module-level code that needs it into the steps",
             end_line=site.end_line, module=module, chain=chain, data=data)


def _used(facts: FileFacts, b: Binding) -> bool:
    return (facts.uses[b.name].used or b.name in facts.all_names
            or b.name in facts.keep_names)


def _why_not_movable(
    ctx: RuleContext, facts: FileFacts, site: ImportSite, *, used: Sequence[Binding],
    unused: Sequence[Binding], owners: set[int], at_module: list[int], reexported: list[str],
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
    if not owners:
        return "used only in type comments or string annotations"
    if len(owners) > ctx.options.max_uses:
        return f"used in {len(owners)} functions"
    for o in sorted(owners):
        info = facts.functions.get(o)
        if info is None:
            return "used in a nested scope"
        if info.inline_body:
            return f"{info.name}() has its body on the `def` line"
        if info.name in facts.module_calls:
            return f"used by {info.name}(), which is called at import time"
        if {b.name for b in used} & info.globals_declared:
            return f"{info.name}() declares it global"
    return None


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
               by_module: dict[str, list[tuple[ExternalImport, SiteKey]]]) -> None:
    threshold = ctx.options.heavy_threshold_ms
    for module, entries in by_module.items():
        files = list(dict.fromkeys(ext.unit for ext, _ in entries))
        if len(files) < 3:
            continue
        first_ext, first_key = entries[0]
        standalone = costs.standalone_ms(first_ext.form)
        together = costs.saving([k for _, k in entries])
        if standalone < threshold or together < threshold:
            continue
        uses = 0
        for ext, _ in entries:
            facts = ctx.trace.units[ext.unit].facts
            assert facts is not None
            for b in ext.site.bindings:
                use = facts.uses[b.name]
                uses += len(use.owners) + len(use.module_lines)
        if uses > len(files):
            continue
        emit("QH105", first_ext.unit, first_ext.site.line,
             f"`{module}` ({ms(standalone)}) is imported at module level by {len(files)} files "
             f"but used in only {uses} place(s); only this first import pays, so moving it "
             f"alone saves {ms(costs.saving([first_key]))}; moving all of them saves "
             f"{ms(together)}",
             "import it only inside the steps that use it, in every file",
             module=module, chain=chain_locations(first_ext.chain),
             related=[Location(ext.unit, ext.site.line) for ext, _ in entries[1:]],
             data={"files": files, "uses": uses, "saving_all_ms": round(together, 3)})
