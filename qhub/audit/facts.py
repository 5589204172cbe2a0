"""Static facts about one Python file, read with :mod:`ast` (the file is never executed).

What the rules and the load-order model need to know: which imports run at load time
(and under which guard), where each imported name is used, what the module does to
``sys.path``, which step definitions, step matchers and custom types it registers in
which order, what text it passes to ``context.execute_steps``, and which lines carry
``# qhub: ignore[...]`` or ``# noqa`` comments. Expressions are walked with an explicit
stack, so a deep expression cannot exhaust Python's recursion limit here.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

from qhub.audit.templates import Template

STEP_KEYWORDS = frozenset({"given", "when", "then", "step"})
_SUPPRESS = re.compile(r"#\s*qhub:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_TYPE_COMMENT = re.compile(r"#\s*type:\s*(.*)")
IDENT = re.compile(r"[A-Za-z_]\w*")
BEHAVE_MODULES = ("behave", "behave.step_registry", "behave.api", "behave.matchers")
MODULE_LEVEL = 0
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
    """One import statement (one per alias for ``import a, b``)."""

    node: ast.Import | ast.ImportFrom
    module: str
    """Imported module, dotted; relative imports keep their leading dots."""
    level: int
    line: int
    end_line: int
    bindings: list[Binding]
    star: bool
    names: tuple[str, ...]
    """For ``from m import a, b``: the imported names (``*`` for a star import)."""
    module_level: bool
    owner: int
    """Def line of the outermost enclosing function, or 0 at module level."""
    in_loop: bool
    type_checking: bool
    guarded: bool
    """Inside ``try`` with an ``except ImportError`` (or broader) handler."""
    conditional: bool
    """Inside an ``if``/``with``/``try``/loop at module level: may not run."""
    top_stmt: bool
    """A direct statement of the module body (safe to rewrite)."""

    @property
    def form(self) -> str:
        """The statement as the measuring subprocess runs it."""
        if isinstance(self.node, ast.ImportFrom):
            return f"from {self.module} import {', '.join(self.names)}"
        return f"import {self.module}"


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
    outer: str | None = None
    """Name of the enclosing function, for a nested one."""
    cls: str | None = None
    """Name of the class whose body defines it (a method)."""
    steps: list[str] = field(default_factory=list)
    """``Given I do {x}``-style labels of the steps this function implements."""


@dataclass
class StepDef:
    """One step definition, as behave registers it."""

    keyword: str
    pattern: str | None
    """The pattern text, or None when it is not a constant the audit can read."""
    line: int
    """Line of this decorator (or registering call)."""
    function: int
    """Def line of the implementing function (0 when registered by a call)."""
    location_line: int
    """The line behave shows for the definition (the function's first decorator)."""


@dataclass
class PathEdit:
    """A module-level change of ``sys.path``."""

    line: int
    op: str
    """``insert``, ``append``, ``extend``, ``assign`` or ``addsitedir``."""
    args: list[ast.expr]
    text: str


@dataclass
class MatcherSet:
    """``use_step_matcher(name)``: the matcher for the definitions that follow."""

    line: int
    name: str | None
    """None when the name is not a constant."""
    default: bool = False
    """``use_default_step_matcher(...)`` (behave 1.3): also the new default."""


@dataclass
class TypeSpec:
    """What the audit knows about one custom type's converter."""

    kind: str
    """``plain`` (no pattern attribute), ``pattern``, ``builtin``, ``enum``, ``choice``,
    ``ref`` (a function imported from another module: resolved by the load-order replay),
    ``unknown``."""
    pattern: str | None = None
    ref: str | None = None
    """For ``ref``: ``module:function``."""
    builtin: str | None = None
    choices: tuple[str, ...] = ()
    case_sensitive: bool = True


@dataclass
class TypeReg:
    """``register_type(Name=converter, ...)`` or a cucumber ``ParameterType``."""

    line: int
    types: dict[str, TypeSpec]
    dynamic: bool = False
    """``register_type(**mapping)``: names unknown."""
    cucumber: bool = False


Action = ImportSite | PathEdit | MatcherSet | StepDef | TypeReg


@dataclass
class NameUse:
    """Where one module-level imported name is read."""

    module_lines: list[int] = field(default_factory=list)
    owners: dict[int, int] = field(default_factory=dict)
    """Outermost function def line -> first line of use inside it."""
    targets: set[int] = field(default_factory=set)
    """Def lines of the innermost functions that read the name (negative: a lambda): an
    import moved there runs exactly when the name is needed."""

    @property
    def used(self) -> bool:
        return bool(self.module_lines or self.owners)


@dataclass
class FileFacts:
    """Everything the rules and the load-order model need to know about one file."""

    imports: list[ImportSite] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    """What runs at load time that matters, in execution order (module-level)."""
    uses: dict[str, NameUse] = field(default_factory=dict)
    functions: dict[int, FunctionInfo] = field(default_factory=dict)
    steps: list[StepDef] = field(default_factory=list)
    reimports: list[tuple[int, str]] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    """Text passed to ``context.execute_steps(...)``; placeholders become wildcards."""
    unresolved_templates: list[int] = field(default_factory=list)
    """Lines of ``execute_steps`` calls whose text cannot be read statically."""
    suppress: dict[int, set[str]] = field(default_factory=dict)
    noqa: dict[int, set[str]] = field(default_factory=dict)
    """Line -> codes of a ``# noqa`` comment (``*`` for a bare one)."""
    all_names: set[str] = field(default_factory=set)
    keep_names: set[str] = field(default_factory=set)
    """Names used only by type checkers (type comments, string annotations)."""
    constants: dict[str, str] = field(default_factory=dict)
    """Module-level ``NAME = "text"`` assignments."""
    assignments: dict[str, list[tuple[int, ast.expr]]] = field(default_factory=dict)
    """Module-level ``NAME = value`` assignments (line, value), in order."""
    module_calls: set[str] = field(default_factory=set)
    """Names called at import time (``X = helper()``, decorators): their bodies run at load."""
    calls_in: dict[str, set[str]] = field(default_factory=dict)
    """Top-level function name -> names it calls (``f(...)``, ``f.g(...)`` -> ``f``) and,
    prefixed with a dot, methods it calls on any object (``x.start()`` -> ``.start``)."""
    class_bases: dict[str, list[str]] = field(default_factory=dict)
    """Module-level class -> its bases as dotted names, resolved through ``from`` imports
    (``behave.matchers.Matcher``)."""
    names_read: set[str] = field(default_factory=set)
    """Every name the module reads anywhere (what a star import may provide it)."""
    future_annotations: bool = False
    converters: dict[str, TypeSpec] = field(default_factory=dict)
    """What each module-level function would be as a ``register_type`` converter."""

    def suppressed(self, first: int, last: int | None = None) -> set[str]:
        tokens: set[str] = set()
        for line in range(first, (last or first) + 1):
            tokens |= self.suppress.get(line, set())
        return tokens

    def value_before(self, name: str, line: int) -> ast.expr | None:
        """The value last bound to module-level ``name`` before ``line``."""
        found = None
        for at, value in self.assignments.get(name, []):
            if at < line:
                found = value
        return found

    def noqa_codes(self, first: int, last: int | None = None) -> set[str]:
        codes: set[str] = set()
        for line in range(first, (last or first) + 1):
            codes |= self.noqa.get(line, set())
        return codes


def module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound once to a string constant."""
    seen: dict[str, str | None] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        if isinstance(target, ast.Name):
            text = const_str(value)
            seen[target.id] = text if target.id not in seen else None
    return {k: v for k, v in seen.items() if v is not None}


def read_comments(source: str, facts: FileFacts) -> None:
    if "#" not in source:
        return
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        line = tok.start[0]
        m = _SUPPRESS.search(tok.string)
        if m:
            names = {p.strip() for p in (m.group(1) or "*").split(",") if p.strip()}
            facts.suppress.setdefault(line, set()).update(names or {"*"})
        n = _NOQA.search(tok.string)
        if n:
            codes = {c.upper() for c in re.split(r"[\s,]+", n.group(1) or "") if c} or {"*"}
            facts.noqa.setdefault(line, set()).update(codes)
        t = _TYPE_COMMENT.search(tok.string)
        if t:
            facts.keep_names.update(IDENT.findall(t.group(1)))


def callee(node: ast.expr) -> str:
    """``a.b.c`` for a call's function expression (empty when not a plain dotted name)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def const_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def module_functions(
    tree: ast.Module,
) -> tuple[dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]], set[str]]:
    """Module-level functions by name, and those given a ``.pattern`` attribute later."""
    functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    patterned: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(stmt.name, []).append(stmt)
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if (isinstance(t, ast.Attribute) and t.attr == "pattern"
                        and isinstance(t.value, ast.Name)):
                    patterned.add(t.value.id)
    return functions, patterned
