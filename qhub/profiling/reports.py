"""Writing report files and printing the end-of-run summary."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from qhub.exceptions import ProfilerError
from qhub.profiling.render import FILE_NAMES, FORMATS, renderer
from qhub.profiling.render.text_report import render as render_text


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(report: dict[str, Any], directory: Path, formats: Sequence[str]) -> list[Path]:
    """Render ``report`` in each format into ``directory``; returns the paths written."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ProfilerError(
            f"unknown report format {unknown[0]!r} (choose from {', '.join(FORMATS)})"
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = directory / FILE_NAMES[fmt]
        _write_atomic(path, renderer(fmt)(report))
        written.append(path)
    return written


def print_summary(report: dict[str, Any], written: Sequence[Path], top: int, out: TextIO) -> None:
    """The terminal summary, ending with ``qhub: HTML report: <path>`` when HTML was written."""
    lines = [render_text(report, top).rstrip("\n")]
    html = [p for p in written if p.suffix == ".html"]
    lines.extend(f"qhub: report: {p}" for p in written if p.suffix != ".html")
    lines.extend(f"qhub: HTML report: {p}" for p in html)
    out.write("\n".join(lines) + "\n")
    out.flush()
