"""Static facts about one Python file, read with :mod:`ast` (the file is never executed).

The auditor asks: which modules are imported where (module level, function, loop,
``TYPE_CHECKING``), where each module-level binding is used (module level or which
functions), which step definitions the file makes, and which lines carry
``# qhub: ignore[...]`` comments.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

STEP_DECORATORS = frozenset({"given", "when", "then", "step"})
_SUPPRESS = re.compile(r"#\s*qhub:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_MODULE = 0
"""Owner key of code that runs at import time (not inside any function)."""


@dataclass
class Binding:
    """One name an import statement binds."""

    name: str
    """The name bound in the namespace (``np`` for ``import numpy as np``)."""
    module: str
    """The module whose import this binding triggers."""
    alias: ast.alias


@dataclass
class ImportSite:
    """One import statement."""

    node: ast.Import | ast.ImportFrom
    module: str
    """Imported module, absolute and dotted; relative imports keep their leading dots."""
    level: int
    line: int
    end_line: int
    bindings: list[Binding]
    star: bool
    module_level: bool
    owner: int
    """Def line of the outermost enclosing function, or 0 at module level."""
    in_loop: bool
    type_checking: bool
    guarded: bool
    """Inside ``try`` with an ``except ImportError`` (or broader) handler."""
    top_stmt: bool
    """A direct statement of the module body (safe to rewrite)."""


@dataclass
class FunctionInfo:
    """A function (or method) that is not nested in another function."""

    name: str
    line: int
    body_line: int
    """Line where new statements may be inserted (after a docstring)."""
    indent: int
    inline_body: bool
    """``def f(): return x`` - nothing can be inserted."""
    globals_declared: set[str]
    steps: list[str] = field(default_factory=list)
    """``Given I do {x}``-style labels of the steps this function implements."""


@dataclass
class StepDef:
    """One step definition."""

    keyword: str
    pattern: str
    matcher: str
    line: int
    function: int
    """Def line of the implementing function (0 when registered by a helper call)."""


@dataclass
class NameUse:
    """Where one module-level imported name is read."""

    module_lines: list[int] = field(default_factory=list)
    owners: dict[int, int] = field(default_factory=dict)
    """Function def line -> first line of use inside it."""

    @property
    def used(self) -> bool:
        return bool(self.module_lines or self.owners)


@dataclass
class FileFacts:
    """Everything the rules need to know about one file."""

    imports: list[ImportSite] = field(default_factory=list)
    uses: dict[str, NameUse] = field(default_factory=dict)
    functions: dict[int, FunctionInfo] = field(default_factory=dict)
    steps: list[StepDef] = field(default_factory=list)
    sys_path: list[tuple[int, str]] = field(default_factory=list)
    reimports: list[tuple[int, str]] = field(default_factory=list)
    executed_steps: list[str] = field(default_factory=list)
    """Text of ``context.execute_steps('''...''')`` calls (those steps count as used)."""
    suppress: dict[int, set[str]] = field(default_factory=dict)
    all_names: set[str] = field(default_factory=set)
    module_calls: set[str] = field(default_factory=set)
    """Names called at import time (``X = helper()``): their bodies run at load too."""
    final_matcher: str = "parse"
    """Step matcher in force at the end of the module (environment.py sets the default)."""

    def suppressed(self, first: int, last: int | None = None) -> set[str]:
        tokens: set[str] = set()
        for line in range(first, (last or first) + 1):
            tokens |= self.suppress.get(line, set())
        return tokens


def analyse(tree: ast.Module, source: str, default_matcher: str = "parse") -> FileFacts:
    """Collect :class:`FileFacts` from a parsed module."""
    facts = FileFacts(final_matcher=default_matcher)
    if "qhub:" in source:
        facts.suppress = _suppressions(source)
    _Walker(facts, default_matcher).run(tree)
    return facts


def _suppressions(source: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            m = _SUPPRESS.search(tok.string)
            if m:
                names = {p.strip() for p in (m.group(1) or "*").split(",") if p.strip()}
                out.setdefault(tok.start[0], set()).update(names or {"*"})
    return out


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


def _callee(node: ast.expr) -> str:
    """``a.b.c`` for a call's function expression (empty when not a plain dotted name)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _const_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


@dataclass
class _Frame:
    """One function scope being walked: names it binds, and module names it reads."""

    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    uses: dict[str, int] = field(default_factory=dict)


def _arg_names(args: ast.arguments) -> set[str]:
    return {
        a.arg
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if a is not None
    }


class _Walker:
    """One pass over the tree, carrying the scope context each node needs."""

    def __init__(self, facts: FileFacts, matcher: str) -> None:
        self.facts = facts
        self.matcher = matcher
        self.owner = _MODULE
        self.frames: list[_Frame] = []
        self.declared_globals: set[str] = set()
        self.loop = 0
        self.type_checking = 0
        self.guarded = 0
        self.module_bindings: set[str] = set()

    def run(self, tree: ast.Module) -> None:
        for stmt in tree.body:
            self.stmt(stmt, top=True)
        self.facts.final_matcher = self.matcher

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
            for child in node.body:
                self.stmt(child)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            self.type_checking += 1
            for child in node.body:
                self.stmt(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.stmt(child)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            try_node: ast.Try = node  # type: ignore[assignment]
            guard = _guards_import(try_node.handlers)
            self.guarded += guard
            for child in try_node.body:
                self.stmt(child)
            self.guarded -= guard
            for h in try_node.handlers:
                if h.type is not None:
                    self.expr(h.type)
                if h.name:
                    self.bind_local(h.name)
                for child in h.body:
                    self.stmt(child)
            for child in [*try_node.orelse, *try_node.finalbody]:
                self.stmt(child)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            self.expr(node.iter if not isinstance(node, ast.While) else node.test)
            if not isinstance(node, ast.While):
                self.expr(node.target)
            self.loop += 1
            for child in node.body:
                self.stmt(child)
            self.loop -= 1
            for child in node.orelse:
                self.stmt(child)
        else:
            self.sys_path_stmt(node)
            self.all_names(node)
            for part in ast.iter_child_nodes(node):
                self.any(part)

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
        module_level = self.owner == _MODULE
        common = {
            "line": node.lineno,
            "end_line": node.end_lineno or node.lineno,
            "module_level": module_level,
            "owner": self.owner,
            "in_loop": self.loop > 0,
            "type_checking": self.type_checking > 0,
            "guarded": self.guarded > 0,
            "top_stmt": top,
        }
        if isinstance(node, ast.Import):
            for al in node.names:
                bound = al.asname or al.name.split(".")[0]
                site = ImportSite(
                    node=node, module=al.name, level=0,
                    bindings=[Binding(bound, al.name, al)], star=False, **common,  # type: ignore[arg-type]
                )
                self.facts.imports.append(site)
                self._bind(site)
            return
        base = "." * node.level + (node.module or "")
        if node.module == "__future__":
            return
        star = any(al.name == "*" for al in node.names)
        bindings = [Binding(al.asname or al.name, base, al) for al in node.names if al.name != "*"]
        site = ImportSite(
            node=node, module=base, level=node.level, bindings=bindings, star=star,
            **common,  # type: ignore[arg-type]
        )
        self.facts.imports.append(site)
        self._bind(site)

    def _bind(self, site: ImportSite) -> None:
        if not site.module_level:
            for b in site.bindings:
                self.bind_local(b.name)
            return
        if site.module_level:
            for b in site.bindings:
                self.module_bindings.add(b.name)
                self.facts.uses.setdefault(b.name, NameUse())

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        outer = self.owner == _MODULE
        if outer:
            self.facts.functions[node.lineno] = self._function_info(node)
        for deco in node.decorator_list:
            self.expr(deco)
            self.step_decorator(deco, node)
        a = node.args
        annotations = [
            arg.annotation
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            if arg is not None and arg.annotation is not None
        ]
        for expr in [*a.defaults, *(d for d in a.kw_defaults if d), *annotations]:
            self.expr(expr)
        if node.returns is not None:
            self.expr(node.returns)
        saved = (self.owner, self.loop)
        if outer:
            self.owner = node.lineno
            self.declared_globals = set()
        self.loop = 0
        self.bind_local(node.name)
        self.frames.append(_Frame(locals=_arg_names(node.args)))
        for child in node.body:
            self.stmt(child)
        self.close_frame()
        if outer:
            self.facts.functions[node.lineno].globals_declared = self.declared_globals
        self.owner, self.loop = saved

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
            for name, line in real.items():
                self.frames[-1].uses.setdefault(name, line)
            return
        for name, line in real.items():
            use = self.facts.uses[name]
            if self.owner == _MODULE:
                use.module_lines.append(line)
            else:
                use.owners.setdefault(self.owner, line)

    def _function_info(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionInfo:
        first = node.body[0]
        body_line = first.lineno
        if isinstance(first, ast.Expr) and _const_str(first.value) is not None:
            body_line = (first.end_lineno or first.lineno) + 1
        return FunctionInfo(
            name=node.name,
            line=node.lineno,
            body_line=body_line,
            indent=first.col_offset,
            inline_body=first.lineno == node.lineno,
            globals_declared=set(),
        )

    def step_decorator(self, deco: ast.expr, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not isinstance(deco, ast.Call) or not deco.args:
            return
        name = _callee(deco.func).rsplit(".", 1)[-1]
        pattern = _const_str(deco.args[0])
        if name.lower() in STEP_DECORATORS and pattern is not None:
            owner = fn.lineno if self.owner == _MODULE else 0
            self.add_step(name.lower(), pattern, deco.lineno, owner)

    def add_step(self, keyword: str, pattern: str, line: int, function: int) -> None:
        self.facts.steps.append(StepDef(keyword, pattern, self.matcher, line, function))
        info = self.facts.functions.get(function)
        if info is not None:
            info.steps.append(f"{keyword.capitalize()} {pattern}")

    # expressions -------------------------------------------------------------------------

    def expr(self, node: ast.expr) -> None:
        stack: list[ast.AST] = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, ast.Name):
                if isinstance(cur.ctx, ast.Load):
                    self.use(cur.id, cur.lineno)
                else:
                    self.bind_local(cur.id)
                continue
            if isinstance(cur, ast.Lambda):
                for d in [*cur.args.defaults, *(x for x in cur.args.kw_defaults if x)]:
                    self.expr(d)
                self.frames.append(_Frame(locals=_arg_names(cur.args)))
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
            self.frames[-1].uses.setdefault(name, line)
        elif self.owner == _MODULE:
            self.facts.uses[name].module_lines.append(line)

    def call(self, node: ast.Call) -> None:
        callee = _callee(node.func)
        if not self.frames and self.owner == _MODULE and callee:
            self.facts.module_calls.add(callee.split(".", 1)[0])
        last = callee.rsplit(".", 1)[-1]
        if last in ("use_step_matcher", "step_matcher") and self.owner == _MODULE:
            value = _const_str(node.args[0]) if node.args else None
            if value:
                self.matcher = value
        elif last == "add_step_definition" and len(node.args) >= 2:
            keyword, pattern = _const_str(node.args[0]), _const_str(node.args[1])
            if keyword and pattern is not None and keyword.lower() in STEP_DECORATORS:
                self.add_step(keyword.lower(), pattern, node.lineno, 0)
        elif last == "execute_steps" and node.args:
            text = _const_str(node.args[0])
            if text:
                self.facts.executed_steps.append(text)
        elif callee in ("importlib.reload", "reload", "imp.reload"):
            self.facts.reimports.append((node.lineno, f"{callee}() re-executes a module"))
        elif callee in ("importlib.import_module", "__import__") and self.loop:
            self.facts.reimports.append((node.lineno, f"{callee}() inside a loop"))
        elif callee in ("sys.path.insert", "sys.path.append", "sys.path.extend",
                        "site.addsitedir"):
            self.facts.sys_path.append((node.lineno, f"{callee}()"))

    # module-level statements the rules care about ----------------------------------------

    def sys_path_stmt(self, node: ast.stmt) -> None:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            if not isinstance(t, (ast.Attribute, ast.Subscript)):
                continue
            if _callee(t) == "sys.path" or (
                isinstance(t, ast.Subscript) and _callee(t.value) == "sys.path"
            ):
                self.facts.sys_path.append((node.lineno, "assignment to sys.path"))

    def all_names(self, node: ast.stmt) -> None:
        if self.owner != _MODULE:
            return
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AugAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == "__all__" and isinstance(
            value, (ast.List, ast.Tuple)
        ):
            for elt in value.elts:
                text = _const_str(elt)
                if text:
                    self.facts.all_names.add(text)
                    self.use(text, node.lineno)
