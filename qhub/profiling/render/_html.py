"""The HTML report's building blocks: escaping, and sortable, filterable tables.

Every value is passed through :func:`esc` (bidi and control characters made visible, then
:func:`html.escape`); each table cell carries its sort key in a ``data-v`` attribute, which
the page's script sorts by when a column header is clicked.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from qhub.profiling._clean import clean, clean_line

MAX_TABLE_ROWS = 2000


def esc(value: Any) -> str:
    """``value`` as text safe in HTML content and attributes."""
    return escape(clean(str(value)), quote=True)


class Cell:
    """One table cell: its HTML and the value it sorts by."""

    __slots__ = ("html", "sort")

    def __init__(self, html: str, sort: float | str | None = None) -> None:
        self.html = html
        self.sort = sort

    @classmethod
    def text(cls, value: Any) -> Cell:
        return cls(esc(value), clean_line(str(value)).lower())

    @classmethod
    def num(cls, value: float | None, fmt: str = "{:.2f}") -> Cell:
        if value is None:
            return cls("&ndash;", float("-inf"))
        return cls(fmt.format(value), float(value))


def sortable_table(
    table_id: str,
    headers: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Cell]],
    *,
    filter_label: str | None = None,
    empty: str = "None.",
) -> str:
    """A sortable table; ``headers`` are (label, ``num``|``text``)."""
    if not rows:
        return f"<p class='empty'>{esc(empty)}</p>"
    head = "".join(
        f"<th data-type='{kind}' tabindex='0' aria-sort='none'>{esc(label)}</th>"
        for label, kind in headers
    )
    body = []
    for row in rows[:MAX_TABLE_ROWS]:
        cells = []
        for (_, kind), cell in zip(headers, row, strict=True):
            value = "" if cell.sort is None else esc(cell.sort)
            cls = " class='num'" if kind == "num" else ""
            cells.append(f"<td{cls} data-v='{value}'>{cell.html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f"<p class='loc'>{len(rows) - MAX_TABLE_ROWS} more rows in the JSON report.</p>"
        if len(rows) > MAX_TABLE_ROWS
        else ""
    )
    search = (
        f"<input type='search' class='filter' data-table='{table_id}'"
        f" placeholder='{esc(filter_label)}' aria-label='{esc(filter_label)}'>"
        f"<span class='shown' data-for='{table_id}'></span>"
        if filter_label
        else ""
    )
    return (
        f"{search}<table id='{table_id}' class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )
