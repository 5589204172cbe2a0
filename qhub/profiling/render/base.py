"""The one renderer interface: ``render(report, options) -> str``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from qhub._record import frozen_record

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report


@frozen_record
class RenderOptions:
    """What a renderer may be told besides the report."""

    top: int = 10
    """Rows per table (text, Markdown)."""
    verbose: bool = False
    link: str | None = "qhub-report.html"
    """Where the HTML report will be (Markdown link target); ``None``: no link."""
    written: tuple[Path, ...] = ()
    """Report files already written (the terminal summary names them)."""


class Renderer(Protocol):
    """The one renderer interface."""

    def __call__(self, report: Report, options: RenderOptions, /) -> str: ...
