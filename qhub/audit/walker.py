"""The one pass over a module's tree that collects :class:`~qhub.audit.facts.FileFacts`.

It carries the scope context each node needs: the function (and the outermost one) it is
in, loops, ``try``/``except ImportError`` guards, ``if TYPE_CHECKING`` blocks, class bodies,
and which names are local, so that every read of an imported name is attributed to module
level or to the innermost function that needs it. Expressions are walked with an explicit
stack, so a deep expression cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from qhub.audit.facts import (
    BEHAVE_MODULES,
    IDENT,
    MODULE_LEVEL,
    STEP_KEYWORDS,
    Binding,
    FileFacts,
    FunctionInfo,
    ImportSite,
    MatcherSet,
    NameUse,
    PathEdit,
    StepDef,
    TypeReg,
    TypeSpec,
    callee,
    const_str,
    module_constants,
    module_functions,
    read_comments,
)
from qhub.audit.templates import TemplateBuilder


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _guards_import(handlers: list[ast.ExceptHandler]) -> bool:
    wanted = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    for h in handlers:
        if h.type is None:
            return True
        names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        if any(isinstance(n, ast.Name) and n.id in wanted for n in names):
            return True
    return False


@dataclass
class _Frame:
    """One function scope being walked: names it binds, and module names it reads."""

    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    uses: dict[str, int] = field(default_factory=dict)
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    def_line: int = 0
    """Def line of the function (negative for a lambda)."""
    node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    pending: dict[str, set[int]] = field(default_factory=dict)
    """Name -> innermost functions (def lines) that read it, not yet resolved."""


def _arg_names(args: ast.arguments) -> set[str]:
    return {
        a.arg
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if a is not None
    }


def _local_assignments(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, list[ast.expr]]:
    """Values assigned to plain local names in a function (for execute_steps text)."""
    out: dict[str, list[ast.expr]] = {}
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            out.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append(node)  # type: ignore[arg-type]
        stack.extend(ast.iter_child_nodes(node))
    return out


class Walker:
    """One pass over the tree, carrying the scope context each node needs."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.owner = MODULE_LEVEL
        self.frames: list[_Frame] = []
        self.declared_globals: set[str] = set()
        self.loop = 0
        self.type_checking = 0
        self.guarded = 0
        self.conditional = 0
        self.module_bindings: set[str] = set()
        self.step_names: dict[str, str] = {}
        """Local names bound to behave's step decorators -> step keyword."""
        self.foreign: set[str] = set()
        """Names of step-like decorators imported from something other than behave."""
        self.functions_by_name: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.pattern_assigned: set[str] = set()
        """Module-level functions given a ``.pattern`` attribute by assignment."""
        self.outer_name: str | None = None
        self.cls: str | None = None
        self.imported_from: dict[str, str] = {}
        """Module-level names bound by ``from module import name`` -> ``module:name``."""

    def run(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.stmt(stmt, top=True)

    # statements --------------------------------------------------------------------------

    def stmt(self, node: ast.stmt, top: bool = False) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.import_(node, top)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node)
        elif isinstance(node, ast.Global):
            if self.frames:
                self.frames[-1].globals.update(node.names)
        elif isinstance(node, ast.ClassDef):
            self.bind_local(node.name)
            for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
                self.expr(expr)
            if not self.frames:
                self.facts.class_bases[node.name] = [self.qualified(b) for b in node.bases]
            saved_cls, self.cls = self.cls, node.name
            for child in node.body:
                self.stmt(child)
            self.cls = saved_cls
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            self.type_checking += 1
            for child in node.body:
                self.stmt(child)
            self.type_checking -= 1
            self.block(node.orelse)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.block(node.body)
            self.block(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.try_(node)  # type: ignore[arg-type]
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            self.expr(node.iter if not isinstance(node, ast.While) else node.test)
            if not isinstance(node, ast.While):
                self.expr(node.target)
            self.loop += 1
            self.block(node.body)
            self.loop -= 1
            self.block(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.expr(item.optional_vars)
            self.block(node.body)
        else:
            if self.owner == MODULE_LEVEL and not self.frames:
                self.module_statement(node)
            for part in ast.iter_child_nodes(node):
                self.any(part)

    def block(self, body: list[ast.stmt]) -> None:
        self.conditional += 1
        for child in body:
            self.stmt(child)
        self.conditional -= 1

    def try_(self, node: ast.Try) -> None:
        guard = _guards_import(node.handlers)
        self.guarded += guard
        self.block(node.body)
        self.guarded -= guard
        for h in node.handlers:
            if h.type is not None:
                self.expr(h.type)
            if h.name:
                self.bind_local(h.name)
            self.block(h.body)
        self.block(node.orelse)
        self.block(node.finalbody)

    def any(self, node: ast.AST) -> None:
        """Visit a statement, an expression, or the parts of a helper node (withitem...)."""
        if isinstance(node, ast.stmt):
            self.stmt(node)
        elif isinstance(node, ast.expr):
            self.expr(node)
        else:
            for child in ast.iter_child_nodes(node):
                self.any(child)

    def import_(self, node: ast.Import | ast.ImportFrom, top: bool) -> None:
        module_level = self.owner == MODULE_LEVEL and not self.frames
        common = {
            "line": node.lineno,
            "end_line": node.end_lineno or node.lineno,
            "module_level": module_level,
            "owner": self.owner,
            "in_loop": self.loop > 0,
            "type_checking": self.type_checking > 0,
            "guarded": self.guarded > 0,
            "conditional": self.conditional > 0 or self.loop > 0,
            "top_stmt": top,
        }
        if isinstance(node, ast.Import):
            for al in node.names:
                bound = al.asname or al.name.split(".")[0]
                site = ImportSite(
                    node=node, module=al.name, level=0, names=(),
                    bindings=[Binding(bound, al.name, al)], star=False, **common,  # type: ignore[arg-type]
                )
                self.add_site(site)
            return
        base = "." * node.level + (node.module or "")
        if node.module == "__future__":
            if any(al.name == "annotations" for al in node.names):
                self.facts.future_annotations = True
            return
        star = any(al.name == "*" for al in node.names)
        bindings = [Binding(al.asname or al.name, base, al) for al in node.names if al.name != "*"]
        names = tuple(sorted({al.name for al in node.names}))
        site = ImportSite(
            node=node, module=base, level=node.level, bindings=bindings, star=star, names=names,
            **common,  # type: ignore[arg-type]
        )
        self.add_site(site)
        if module_level and node.level == 0:
            for al in node.names:
                if al.name != "*":
                    self.imported_from[al.asname or al.name] = f"{base}:{al.name}"
        if node.level == 0 and (node.module or "") in BEHAVE_MODULES:
            for al in node.names:
                if al.name.lower() in STEP_KEYWORDS:
                    self.step_names[al.asname or al.name] = al.name.lower()
        else:
            for al in node.names:
                if al.name.lower() in STEP_KEYWORDS:
                    self.foreign.add(al.asname or al.name)

    def add_site(self, site: ImportSite) -> None:
        self.facts.imports.append(site)
        if not site.module_level:
            for b in site.bindings:
                self.bind_local(b.name)
            return
        if not site.type_checking:
            self.facts.actions.append(site)
        for b in site.bindings:
            self.module_bindings.add(b.name)
            self.facts.uses.setdefault(b.name, NameUse())

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.owner == MODULE_LEVEL
        info = self._function_info(node)
        if not outer:
            info.outer = self.outer_name
        info.cls = self.cls
        self.facts.functions[node.lineno] = info
        for deco in node.decorator_list:
            self.expr(deco)
            if not self.frames and self.owner == MODULE_LEVEL:
                name = callee(deco)
                if name:  # a decorator is called when the module loads
                    self.facts.module_calls.add(name.split(".", 1)[0])
        if self.owner == MODULE_LEVEL and not self.frames:
            first = min((d.lineno for d in node.decorator_list), default=node.lineno)
            # Python applies stacked decorators bottom-up: the one nearest `def` first
            for deco in reversed(node.decorator_list):
                self.step_decorator(deco, node, first)
        a = node.args
        for expr in [*a.defaults, *(d for d in a.kw_defaults if d)]:
            self.expr(expr)
        annotations = [
            arg.annotation
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            if arg is not None and arg.annotation is not None
        ]
        if node.returns is not None:
            annotations.append(node.returns)
        for ann in annotations:
            self.annotation(ann)
        saved = (self.owner, self.loop, self.outer_name)
        saved_cls, self.cls = self.cls, None
        if outer:
            self.owner = node.lineno
            self.declared_globals = set()
        self.loop = 0
        self.outer_name = node.name
        self.bind_local(node.name)
        frame = _Frame(locals=_arg_names(node.args), def_line=node.lineno, node=node)
        self.frames.append(frame)
        for child in node.body:
            self.stmt(child)
        self.close_frame()
        info.globals_declared = set(frame.globals)
        if outer:
            info.globals_declared = self.declared_globals
        self.owner, self.loop, self.outer_name = saved
        self.cls = saved_cls

    def annotation(self, node: ast.expr) -> None:
        """Annotations run at definition time unless ``from __future__ import annotations``."""
        strings = [n for n in ast.walk(node) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str)]
        for s in strings:
            self.facts.keep_names.update(IDENT.findall(str(s.value)))
        if self.facts.future_annotations:
            self.facts.keep_names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        else:
            self.expr(node)

    def bind_local(self, name: str) -> None:
        if self.frames:
            self.frames[-1].locals.add(name)

    def close_frame(self) -> None:
        """Leave a scope: reads of names it binds were local; the rest go up a level."""
        frame = self.frames.pop()
        self.declared_globals |= frame.globals
        real = {n: ln for n, ln in frame.uses.items()
                if n not in frame.locals or n in frame.globals}
        if self.frames:
            parent = self.frames[-1]
            for name, line in real.items():
                parent.uses.setdefault(name, line)
                parent.pending.setdefault(name, set()).update(frame.pending.get(name, ()))
            return
        for name, line in real.items():
            use = self.facts.uses[name]
            if self.owner == MODULE_LEVEL:
                use.module_lines.append(line)
            else:
                use.owners.setdefault(self.owner, line)
                use.targets.update(frame.pending.get(name, ()))

    def _function_info(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionInfo:
        first = node.body[0]
        body_line = first.lineno
        if isinstance(first, ast.Expr) and const_str(first.value) is not None:
            body_line = (first.end_lineno or first.lineno) + 1
        return FunctionInfo(
            name=node.name,
            line=node.lineno,
            body_line=body_line,
            indent=first.col_offset,
            inline_body=first.lineno == node.lineno,
            globals_declared=set(),
        )

    def qualified(self, node: ast.expr) -> str:
        """``Matcher`` -> ``behave.matchers.Matcher`` when bound by ``from`` import."""
        name = callee(node)
        head, _, rest = name.partition(".")
        origin = self.imported_from.get(head)
        if origin is None:
            return name
        module, _, attr = origin.partition(":")
        return ".".join(p for p in (module, attr, rest) if p)

    def step_keyword(self, func: ast.expr) -> str | None:
        """The step type a decorator or call registers, if it is one of behave's."""
        name = callee(func)
        if not name:
            return None
        if name in self.step_names:
            return self.step_names[name]
        last = name.rsplit(".", 1)[-1]
        if last.lower() not in STEP_KEYWORDS or last not in (last.lower(), last.title()):
            return None
        if "." not in name and name in self.foreign:
            return None
        return last.lower()

    def step_decorator(self, deco: ast.expr, fn: ast.FunctionDef | ast.AsyncFunctionDef,
                       first_line: int) -> None:
        if not isinstance(deco, ast.Call) or not deco.args:
            return
        keyword = self.step_keyword(deco.func)
        if keyword is None:
            return
        pattern = self.text_of(deco.args[0])
        self.add_step(keyword, pattern, deco.lineno, fn.lineno, first_line)

    def text_of(self, node: ast.expr) -> str | None:
        text = const_str(node)
        if text is None and isinstance(node, ast.Name):
            text = self.facts.constants.get(node.id)
        return text

    def add_step(self, keyword: str, pattern: str | None, line: int, function: int,
                 location_line: int) -> None:
        step = StepDef(keyword, pattern, line, function, location_line)
        self.facts.steps.append(step)
        self.facts.actions.append(step)
        info = self.facts.functions.get(function)
        if info is not None:
            info.steps.append(f"{keyword.capitalize()} {pattern if pattern is not None else '?'}")

    # expressions -------------------------------------------------------------------------

    def expr(self, node: ast.expr) -> None:
        stack: list[ast.AST] = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, ast.Name):
                if isinstance(cur.ctx, ast.Load):
                    self.facts.names_read.add(cur.id)
                    self.use(cur.id, cur.lineno)
                else:
                    self.bind_local(cur.id)
                continue
            if isinstance(cur, ast.Lambda):
                for d in [*cur.args.defaults, *(x for x in cur.args.kw_defaults if x)]:
                    self.expr(d)
                self.frames.append(_Frame(locals=_arg_names(cur.args), def_line=-cur.lineno))
                self.expr(cur.body)
                self.close_frame()
                continue
            if isinstance(cur, ast.Call):
                self.call(cur)
            stack.extend(ast.iter_child_nodes(cur))

    def use(self, name: str, line: int) -> None:
        if name not in self.module_bindings:
            return
        if self.frames:
            frame = self.frames[-1]
            frame.uses.setdefault(name, line)
            frame.pending.setdefault(name, set()).add(frame.def_line)
        elif self.owner == MODULE_LEVEL:
            self.facts.uses[name].module_lines.append(line)

    def call(self, node: ast.Call) -> None:
        name = callee(node.func)
        at_load = not self.frames and self.owner == MODULE_LEVEL
        if self.owner != MODULE_LEVEL:
            outer = self.facts.functions.get(self.owner)
            if outer is not None:
                called = self.facts.calls_in.setdefault(outer.name, set())
                if name:
                    called.add(name.split(".", 1)[0])
                if isinstance(node.func, ast.Attribute):
                    called.add("." + node.func.attr)  # a method called on some object
        if at_load and name:
            self.facts.module_calls.add(name.split(".", 1)[0])
        last = name.rsplit(".", 1)[-1]
        if last == "execute_steps" and node.args:
            self.execute_steps(node)
        elif name in ("importlib.reload", "reload", "imp.reload"):
            self.facts.reimports.append((node.lineno, f"{name}() re-executes a module"))
        elif (name in ("importlib.import_module", "__import__") and self.loop and node.args
              and const_str(node.args[0]) is not None):
            self.facts.reimports.append((node.lineno, f"{name}() of one module inside a loop"))
        if not at_load:
            return
        if name in ("sys.path.insert", "sys.path.append", "sys.path.extend", "site.addsitedir"):
            op = name.rsplit(".", 1)[-1]
            self.facts.actions.append(PathEdit(node.lineno, op, list(node.args), f"{name}()"))
        elif last in ("use_step_matcher", "step_matcher", "use_default_step_matcher"):
            value = self.text_of(node.args[0]) if node.args else None
            if last == "use_default_step_matcher" and not node.args:
                value = "<default>"
            self.facts.actions.append(
                MatcherSet(node.lineno, value, default=last == "use_default_step_matcher"))
        elif last == "use_step_matcher_for_cucumber_expressions":
            self.facts.actions.append(MatcherSet(node.lineno, "cucumber_expressions"))
        elif last == "register_type":
            self.register_type(node)
        elif last == "define_parameter_type" and node.args:
            self.parameter_type(node)
        elif last == "add_step_definition" and len(node.args) >= 2:
            keyword = const_str(node.args[0])
            if keyword and keyword.lower() in STEP_KEYWORDS:
                pattern = self.text_of(node.args[1])
                self.add_step(keyword.lower(), pattern, node.lineno, 0, node.lineno)
        elif isinstance(node.func, ast.Call) and node.args:
            # given("...")(func): the decorator called by hand
            inner = node.func
            keyword = self.step_keyword(inner.func)
            if keyword is not None and inner.args:
                self.add_step(keyword, self.text_of(inner.args[0]), node.lineno, 0, node.lineno)

    def register_type(self, node: ast.Call) -> None:
        reg = TypeReg(node.lineno, {})
        for kw in node.keywords:
            if kw.arg is None:
                reg.dynamic = True
            else:
                reg.types[kw.arg] = self.converter(kw.value)
        if node.args:
            reg.dynamic = True
        self.facts.actions.append(reg)

    def parameter_type(self, node: ast.Call) -> None:
        arg = node.args[0]
        if isinstance(arg, ast.Call) and callee(arg.func).endswith("ParameterType"):
            values = dict(zip(("name", "regexp"), arg.args[:2], strict=False))
            values.update({k.arg: k.value for k in arg.keywords if k.arg})
            name = const_str(values.get("name"))
            regexp = const_str(values.get("regexp"))
            if name is not None:
                spec = TypeSpec("pattern", pattern=regexp) if regexp else TypeSpec("unknown")
                self.facts.actions.append(TypeReg(node.lineno, {name: spec}, cucumber=True))
                return
        self.facts.actions.append(TypeReg(node.lineno, {}, dynamic=True, cucumber=True))

    def converter(self, node: ast.expr) -> TypeSpec:
        if isinstance(node, ast.Name) and node.id in ("int", "float", "str", "bool"):
            return TypeSpec("builtin", builtin=node.id)
        if isinstance(node, ast.Name):
            if node.id in self.functions_by_name:
                return self.converter_function(node.id)
            origin = self.imported_from.get(node.id)
            if origin is not None:
                return TypeSpec("ref", ref=origin)
            return TypeSpec("unknown")
        if isinstance(node, ast.Call):
            name = callee(node.func).rsplit(".", 1)[-1]
            if name in ("make_enum", "make_choice") and node.args:
                values = node.args[0]
                keys: list[ast.expr | None] = []
                if isinstance(values, ast.Dict):
                    keys = list(values.keys)
                elif isinstance(values, (ast.List, ast.Tuple, ast.Set)):
                    keys = list(values.elts)
                texts = [const_str(k) for k in keys]
                if keys and all(t is not None for t in texts):
                    sensitive = not any(
                        k.arg == "case_sensitive" and isinstance(k.value, ast.Constant)
                        and k.value.value is False for k in node.keywords)
                    kind = "enum" if name == "make_enum" else "choice"
                    return TypeSpec(kind, choices=tuple(t for t in texts if t is not None),
                                    case_sensitive=sensitive if kind == "choice" else True)
        return TypeSpec("unknown")

    def converter_function(self, name: str) -> TypeSpec:
        """A converter defined in this module: its ``with_pattern`` decorator, if any."""
        for fn in self.functions_by_name.get(name, []):
            patterns = []
            for deco in fn.decorator_list:
                if isinstance(deco, ast.Call) and callee(deco.func).endswith("with_pattern"):
                    patterns.append(self.text_of(deco.args[0]) if deco.args else None)
                else:
                    return TypeSpec("unknown")
            if not patterns:
                return TypeSpec("unknown" if name in self.pattern_assigned else "plain")
            if patterns[0] is not None:
                return TypeSpec("pattern", pattern=patterns[0])
        return TypeSpec("unknown")

    def execute_steps(self, node: ast.Call) -> None:
        frame = self.frames[-1] if self.frames else None

        if frame is not None and frame.node is not None and not frame.assigned:
            frame.assigned = _local_assignments(frame.node)

        def lookup(name: str) -> list[ast.expr] | None:
            if frame is not None and name in frame.assigned:
                return frame.assigned[name]
            if name in self.facts.constants:
                return [ast.Constant(self.facts.constants[name])]
            return None

        template = TemplateBuilder(lookup).build(node.args[0], node.lineno)
        if template is None:
            self.facts.unresolved_templates.append(node.lineno)
        else:
            self.facts.templates.append(template)

    # module-level statements the rules care about ----------------------------------------

    def module_statement(self, node: ast.stmt) -> None:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets, value = [node.target], node.value
        for t in targets:
            if isinstance(t, ast.Name) and value is not None and not isinstance(node,
                                                                              ast.AugAssign):
                self.facts.assignments.setdefault(t.id, []).append((node.lineno, value))
            if callee(t) == "sys.path" or (
                isinstance(t, ast.Subscript) and callee(t.value) == "sys.path"
            ):
                op = "assign" if isinstance(t, ast.Attribute) else "slice"
                if isinstance(node, ast.AugAssign):
                    op = "extend"
                self.facts.actions.append(
                    PathEdit(node.lineno, op, [value] if value is not None else [],
                             "assignment to sys.path"))
        if (len(targets) == 1 and isinstance(targets[0], ast.Name)
                and targets[0].id == "__all__" and isinstance(value, (ast.List, ast.Tuple))):
            for elt in value.elts:
                text = const_str(elt)
                if text:
                    self.facts.all_names.add(text)
                    self.use(text, node.lineno)


def analyse(tree: ast.Module, source: str) -> FileFacts:
    """Collect :class:`FileFacts` from a parsed module."""
    facts = FileFacts()
    facts.constants = module_constants(tree)
    read_comments(source, facts)
    walker = Walker(facts)
    walker.functions_by_name, walker.pattern_assigned = module_functions(tree)
    walker.run(tree)
    facts.converters = {name: walker.converter_function(name)
                        for name in walker.functions_by_name}
    return facts
