"""Report renderers: one module per format, one interface.

Every renderer is ``render(report: Report, options: RenderOptions) -> str`` (the
:class:`Renderer` protocol): it reads the frozen :class:`~qhub.profiling.reporting.Report`
and returns text; it writes nothing. :func:`write_reports` writes the configured formats
atomically; :func:`qhub.profiling.render.terminal_summary.render_summary` is the short
end-of-run summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qhub.exceptions import ProfilerError
from qhub.profiling.render.base import Renderer, RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report

__all__ = [
    "FILE_NAMES",
    "FORMATS",
    "RenderOptions",
    "Renderer",
    "renderer",
    "write_reports",
]

FORMATS = ("json", "html", "markdown", "prometheus", "text", "junit", "github")

FILE_NAMES = {
    "json": "qhub-report.json",
    "html": "qhub-report.html",
    "markdown": "qhub-report.md",
    "prometheus": "qhub-metrics.prom",
    "text": "qhub-report.txt",
    "junit": "qhub-junit.xml",
    "github": "qhub-annotations.txt",
}

_MODULES = {
    "json": "json_report",
    "html": "html_report",
    "markdown": "markdown_report",
    "prometheus": "prometheus_report",
    "text": "text_report",
    "junit": "junit_report",
    "github": "github_annotations",
}


def renderer(fmt: str) -> Renderer:
    """The ``render`` function of format ``fmt`` (ValueError listing the choices)."""
    module = _MODULES.get(fmt)
    if module is None:
        raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    import importlib

    render: Renderer = importlib.import_module(f"qhub.profiling.render.{module}").render
    return render


def write_reports(
    report: Report, directory: Path, formats: Sequence[str], options: RenderOptions
) -> list[Path]:
    """Render ``report`` in each format into ``directory`` (atomically); returns the paths.

    A format that cannot be written is said in one warning line; the others are still
    written.
    """
    from qhub._atomic import AtomicWriteError, atomic_write_text
    from qhub._warn import warn

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ProfilerError(
            f"unknown report format {unknown[0]!r} (choose from {', '.join(FORMATS)})"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warn(f"cannot create the report folder {directory}: {exc.strerror or exc}")
        return []
    written = []
    for fmt in dict.fromkeys(formats):
        path = directory / FILE_NAMES[fmt]
        try:
            atomic_write_text(path, renderer(fmt)(report, options))
        except AtomicWriteError as exc:
            warn(str(exc))
            continue
        written.append(path)
    return written
