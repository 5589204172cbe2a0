"""Readable report: findings grouped by file (natural order), then the cost summary."""

from __future__ import annotations

from qhub.audit.model import AuditResult, natural_key


def render(result: AuditResult) -> str:
    lines: list[str] = []
    by_file: dict[str, list[int]] = {}
    for i, f in enumerate(result.findings):
        by_file.setdefault(f.location.path, []).append(i)
    for path in sorted(by_file, key=natural_key):
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
    behave = f", behave {result.behave_version}" if result.behave_version else ""
    lines.append(
        f"estimated step-loading import cost: {result.total_load_ms:.0f} ms "
        f"({len(measured)} import(s) measured with {result.interpreter} "
        f"{result.python_version}{behave})"
    )
    lines.append("saving if every lazy-candidate suggestion is applied together: "
                 f"{result.saving_ms:.0f} ms")
    payers = sorted((m for m in measured if m.paid_by and m.paid_ms >= 1),
                    key=lambda m: (-m.paid_ms, m.module))[:5]
    for m in payers:
        assert m.paid_by is not None
        via = "".join(f"{c.path}:{c.line} → " for c in m.chain)
        lines.append(f"  {m.module:<40} {m.paid_ms:8.1f} ms  paid by {via}"
                     f"{m.paid_by.path}:{m.paid_by.line}")
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"
