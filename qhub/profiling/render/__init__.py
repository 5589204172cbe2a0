"""Report renderers: ``render(report) -> str``, one module per format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FORMATS = ("json", "html", "markdown", "prometheus", "text")

FILE_NAMES = {
    "json": "qhub-report.json",
    "html": "qhub-report.html",
    "markdown": "qhub-report.md",
    "prometheus": "qhub-metrics.prom",
    "text": "qhub-report.txt",
}


def renderer(fmt: str) -> Callable[[dict[str, Any]], str]:
    """The ``render`` function of format ``fmt`` (ValueError listing the choices)."""
    if fmt == "json":
        from qhub.profiling.render.json_report import render
    elif fmt == "html":
        from qhub.profiling.render.html_report import render
    elif fmt == "markdown":
        from qhub.profiling.render.markdown_report import render
    elif fmt == "prometheus":
        from qhub.profiling.render.prometheus_report import render
    elif fmt == "text":
        from qhub.profiling.render.text_report import render
    else:
        raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    return render


def preload(formats: list[str]) -> None:
    """Import the renderers of ``formats`` (and read the HTML assets) ahead of the run's end.

    Called when the run starts, so the end-of-run report writing does not pay for imports
    (the HTML renderer's take ~15 ms); unknown formats are left for the writer to report.
    """
    for fmt in formats:
        if fmt in FORMATS:
            renderer(fmt)
    if "html" in formats:
        from qhub.profiling.render.html_report import preload_assets

        preload_assets()
