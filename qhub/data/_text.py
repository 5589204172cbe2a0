"""Keep user-provided text in error messages on one line.

Template names, keys, provider names and file paths come from users' files and may hold
newlines or other control characters. Echoed raw they would split a ``TemplateError`` over
several lines (and could forge extra lines in a log). :func:`show` quotes one such value;
:func:`one_line` is the last guard applied to every message raised from ``qhub.data``.
"""

from __future__ import annotations

from typing import Any


def show(value: Any) -> str:
    """``value`` quoted for a message: ``'name'``, with control characters escaped."""
    return repr(value if isinstance(value, str) else str(value))


def _escape(char: str) -> str:
    return repr(char)[1:-1] if not char.isprintable() and char != " " else char


def one_line(message: str) -> str:
    """``message`` with every non-printable character (newlines, tabs...) escaped."""
    if message.isprintable():
        return message
    return "".join(_escape(char) for char in message)
