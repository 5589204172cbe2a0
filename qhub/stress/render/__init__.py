"""Renderers of a frozen :class:`~qhub.stress.result.StressResult`: ``render(result) -> str``,
one module per format (terminal text, JSON, Prometheus text exposition, HTML)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from qhub.stress.result import StressResult

FORMATS = ("text", "json", "prometheus", "html")


def renderer(fmt: str) -> Callable[[StressResult], str]:
    """The ``render`` function of format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown stress report format {fmt!r} (choose from {', '.join(FORMATS)})")
    render: Callable[[StressResult], str] = import_module(f"qhub.stress.render.{fmt}").render
    return render
