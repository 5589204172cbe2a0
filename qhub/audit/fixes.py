"""``--diff`` / ``--write``: move lazy-candidate imports into the functions that use them.

Only whole module-level statements are rewritten; a statement sharing its line with other
code, or an edit whose result does not parse, is left alone (and reported as skipped).
Files are written atomically (temp file, fsync, rename; permissions kept), and only after
every file to change was checked: writable, and unchanged since the audit read it.
"""

from __future__ import annotations

import ast
import difflib
import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from qhub._atomic import AtomicWriteError, atomic_write_text
from qhub._bounded import InputLimitError, read_regular_text
from qhub.audit.model import AuditResult, Finding
from qhub.audit.sources import DEFAULT_MAX_BYTES
from qhub.audit.walker import analyse
from qhub.exceptions import AuditError


@dataclass
class FilePlan:
    """New text of one file, and why some moves were skipped."""

    path: str
    absolute: Path
    old: str
    new: str
    moved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _alias_text(alias: ast.alias) -> str:
    return alias.name + (f" as {alias.asname}" if alias.asname else "")


def _statement(node: ast.Import | ast.ImportFrom, aliases: list[ast.alias]) -> str:
    names = ", ".join(_alias_text(a) for a in aliases)
    if isinstance(node, ast.Import):
        return f"import {names}"
    return f"from {'.' * node.level}{node.module or ''} import {names}"


def _alone_on_lines(text_lines: list[str], node: ast.stmt) -> bool:
    """The statement is the only code on its lines (comments aside)."""
    end = node.end_lineno or node.lineno
    first = text_lines[node.lineno - 1]
    last = text_lines[end - 1]
    before = first[: node.col_offset]
    after = last[node.end_col_offset or 0:]
    if before.strip():
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(after).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    return all(t.type in (tokenize.COMMENT, tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER,
                          tokenize.INDENT, tokenize.DEDENT) for t in tokens)


def plan_file(path: str, absolute: Path, findings: list[Finding]) -> FilePlan:
    try:
        old = read_regular_text(absolute, DEFAULT_MAX_BYTES)
        tree = ast.parse(old)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, InputLimitError,
            RecursionError, MemoryError):
        plan = FilePlan(path, absolute, "", "")
        plan.skipped.append(f"{path}: not readable as UTF-8 Python; left unchanged")
        return plan
    plan = FilePlan(path, absolute, old, old)
    facts = analyse(tree, old)
    lines = old.splitlines(keepends=True)
    statements = {n.lineno: n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    removals: dict[int, set[str]] = {}
    inserts: dict[int, list[str]] = {}
    for f in findings:
        node = statements.get(f.location.line)
        names = set(f.data.get("names", []))
        owners = [int(o) for o in f.data.get("targets", [])]
        if node is None or not names or not _alone_on_lines(lines, node):
            plan.skipped.append(f"{path}:{f.location.line} `{f.module}` (statement not movable)")
            continue
        moved = [a for a in node.names if (a.asname or a.name.split(".")[0]) in names]
        if isinstance(node, ast.ImportFrom):
            moved = [a for a in node.names if (a.asname or a.name) in names]
        if not moved or any(o not in facts.functions for o in owners):
            plan.skipped.append(f"{path}:{f.location.line} `{f.module}` (functions changed)")
            continue
        removals.setdefault(node.lineno, set()).update(_alias_text(a) for a in moved)
        for owner in owners:
            info = facts.functions[owner]
            inserts.setdefault(info.body_line, []).append(
                " " * info.indent + _statement(node, moved) + "\n"
            )
        plan.moved.append(f"{path}:{f.location.line} `{f.module}` -> "
                          + ", ".join(facts.functions[o].name for o in owners))
    edits: list[tuple[int, int, list[str]]] = []
    for line, gone in removals.items():
        node = statements[line]
        keep = [a for a in node.names if _alias_text(a) not in gone]
        new_lines = [_statement(node, keep) + "\n"] if keep else []
        edits.append((line - 1, node.end_lineno or line, new_lines))
    for line, text in inserts.items():
        edits.append((line - 1, line - 1, text))
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        lines[start:end] = text
    new = "".join(lines)
    if not old.startswith("\n"):
        new = new.lstrip("\n")  # the moved import was the file's first line
    try:
        ast.parse(new)
    except SyntaxError:
        plan.skipped.append(f"{path}: rewritten file would not parse; left unchanged")
        plan.moved.clear()
        return plan
    plan.new = new
    return plan


def plan_all(result: AuditResult) -> list[FilePlan]:
    """One plan per file that has lazy-candidate findings."""
    grouped: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.rule == "QH102" and f.location.path in result.sources:
            grouped.setdefault(f.location.path, []).append(f)
    return [plan_file(p, Path(result.sources[p]), fs) for p, fs in grouped.items()]


def unified_diff(plans: list[FilePlan]) -> str:
    chunks: list[str] = []
    for p in plans:
        if p.old != p.new:
            chunks.extend(difflib.unified_diff(
                p.old.splitlines(keepends=True), p.new.splitlines(keepends=True),
                fromfile=f"a/{p.path}", tofile=f"b/{p.path}",
            ))
    return "".join(chunks)


def write(plans: list[FilePlan]) -> list[str]:
    """Write every changed file atomically; returns their display paths.

    Nothing is written unless every file can be: a read-only file, or one changed since
    the audit read it, is a one-line :class:`AuditError`.
    """
    changed = [p for p in plans if p.old != p.new]
    for p in changed:
        try:
            mode = os.stat(p.absolute).st_mode
        except OSError as exc:
            raise AuditError(f"cannot write {p.path}: {exc.strerror or exc}; nothing written"
                             ) from None
        if not mode & 0o222 or not os.access(p.absolute, os.W_OK):
            raise AuditError(f"cannot write {p.path}: the file is read-only; nothing written")
        try:
            now = read_regular_text(p.absolute, DEFAULT_MAX_BYTES)
        except (OSError, UnicodeDecodeError, InputLimitError) as exc:
            raise AuditError(f"cannot read {p.path} again: {exc}; nothing written") from None
        if now != p.old:
            raise AuditError(f"{p.path} changed since the audit read it; run the audit again "
                             "(nothing written)")
    written: list[str] = []
    for p in changed:
        try:
            atomic_write_text(p.absolute, p.new)
        except AtomicWriteError as exc:
            done = f" ({len(written)} file(s) already written)" if written else ""
            raise AuditError(f"{exc}{done}") from None
        written.append(p.path)
    return written
