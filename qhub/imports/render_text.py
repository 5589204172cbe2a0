"""Readable report: findings grouped by file in load order, then the cost summary."""

from __future__ import annotations

from qhub.imports.model import AuditResult


def render(result: AuditResult) -> str:
    lines: list[str] = []
    by_file: dict[str, list[int]] = {}
    for i, f in enumerate(result.findings):
        by_file.setdefault(f.location.path, []).append(i)
    for path in [*result.files, *(p for p in by_file if p not in result.files)]:
        if path not in by_file:
            continue
        lines.append(path)
        for i in by_file[path]:
            f = result.findings[i]
            lines.append(f"  {f.location.line:>4}  {f.severity.label:<7} {f.rule} {f.name}: "
                         f"{f.message}")
            lines.append(f"        fix: {f.suggestion}")
        lines.append("")
    counts = result.counts()
    lines.append(
        f"{len(result.files)} file(s), {len(result.findings)} finding(s): "
        f"{counts['error']} error, {counts['warning']} warning, {counts['info']} info"
        + (f"; {result.suppressed} suppressed" if result.suppressed else "")
    )
    measured = [m for m in result.modules.values() if m.status == "measured"]
    lines.append(
        f"estimated step-loading import cost: {result.total_load_ms:.0f} ms "
        f"({len(measured)} module(s) measured with {result.interpreter} {result.python_version})"
    )
    lines.append(f"saving if every lazy-candidate suggestion is applied: {result.saving_ms:.0f} ms")
    payers = sorted((m for m in measured if m.paid_by and m.paid_ms >= 1),
                    key=lambda m: -m.paid_ms)[:5]
    for m in payers:
        assert m.paid_by is not None
        lines.append(f"  {m.module:<30} {m.paid_ms:8.1f} ms  paid by "
                     f"{m.paid_by.path}:{m.paid_by.line}")
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"
