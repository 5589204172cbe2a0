"""Neutralising text that came from users' suites before it is shown anywhere.

Step texts, scenario names, error messages and tags can hold bidirectional control
characters (U+202E RIGHT-TO-LEFT OVERRIDE and friends: the "Trojan Source" trick that makes
text read differently from what it is) and other control characters that move a terminal's
cursor or break a table. Every renderer shows such a character as a visible ``<U+202E>``
marker instead of emitting it raw; everything else passes unchanged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from qhub._redact import redact_text

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _marker(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def clean(text: str) -> str:
    """``text`` with bidi and control characters (but tab and newline) made visible."""
    return _UNSAFE.sub(_marker, text)


def clean_line(text: str) -> str:
    """:func:`clean` for one line: newlines and tabs become spaces as well."""
    return clean(" ".join(text.split()) if ("\n" in text or "\t" in text or "\r" in text) else text)


def normalize_tags(tags: Any) -> tuple[str, ...]:
    """The ``--tags`` expressions as a tuple of strings, whatever shape they arrive in.

    behave 1.3 gives a list of expression strings; behave 1.2.6 a ``TagExpression`` (its
    ``ands``); earlier qhub versions stored ``["['@smoke']"]`` (a list's repr): all become
    ``("@smoke",)``.
    """
    if tags is None or tags == "":
        return ()
    ands = getattr(tags, "ands", None)
    if ands is not None and not isinstance(tags, (str, bytes, list, tuple)):
        return tuple(",".join(str(t) for t in group) for group in ands if group)
    items: Iterable[Any] = [tags] if isinstance(tags, str) else tags
    out: list[str] = []
    try:
        for item in items:
            text = str(item).strip()
            if text.startswith("[") and text.endswith("]"):
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    parsed = None
                if isinstance(parsed, (list, tuple)):
                    out.extend(normalize_tags(list(parsed)))
                    continue
            if text:
                out.append(clean_line(redact_text(text)))
    except TypeError:  # not iterable: one expression
        out.append(clean_line(redact_text(str(tags))))
    return tuple(out)
