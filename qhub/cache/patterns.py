"""Glob patterns with Redis's meaning on every backend, and refused when that meaning surprises.

qhub's ``invalidate_pattern`` and ``qhub cache clear PATTERN`` use the glob syntax of Redis's
``SCAN MATCH``: ``*`` any run of bytes, ``?`` exactly one byte, ``[abc]`` one of, ``[a-z]`` a
range, ``[^a]`` none of, ``\\x`` the character ``x`` itself. ``!`` is not a negation (Redis
reads ``[!a]`` as "``!`` or ``a``"). Matching compares the key's UTF-8 bytes, exactly as Redis
does, so ``?`` does not match ``é`` (two bytes) on any backend.

Redis accepts every string and quietly reinterprets a few: ``[z-a]`` becomes ``[a-z]``,
an unclosed ``[ab`` matches like ``[ab]``, ``[]`` never matches, a trailing ``\\`` matches a
backslash. Those are refused here with :class:`qhub.exceptions.PatternError` (one line)
before any backend is asked, so a typo never deletes the wrong keys and never reads as a
backend failure.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qhub.exceptions import PatternError

_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """``text`` with glob characters escaped, so it matches itself literally."""
    return _SPECIAL.sub(r"\\\1", text)


def _byte(value: int) -> bytes:
    return b"\\x%02x" % value


def _refuse(pattern: str, problem: str) -> PatternError:
    return PatternError(
        f"invalid glob pattern {pattern!r}: {problem} (qhub uses Redis's glob syntax: "
        "*, ?, [abc], [a-z], [^a], \\ escapes)"
    )


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[bytes]:
    """The regular expression (over UTF-8 bytes) matching what Redis matches for ``pattern``.

    Raises :class:`PatternError` for a pattern that is not a string, or whose Redis
    meaning is not what it looks like (see the module docstring).
    """
    if not isinstance(pattern, str):
        raise PatternError(f"a glob pattern must be a string, got {type(pattern).__name__}")
    data = pattern.encode("utf-8", "surrogatepass")
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        char = data[i]
        if char == 0x2A:  # *
            while i + 1 < n and data[i + 1] == 0x2A:
                i += 1
            out.append(b".*")
        elif char == 0x3F:  # ?
            out.append(b".")
        elif char == 0x5C:  # backslash
            if i + 1 >= n:
                raise _refuse(pattern, "it ends with a lone '\\'")
            i += 1
            out.append(_byte(data[i]))
        elif char == 0x5B:  # [
            i = _char_class(pattern, data, i + 1, out)
            continue
        else:
            out.append(_byte(char))
        i += 1
    return re.compile(b"".join(out), re.DOTALL)


def _char_class(pattern: str, data: bytes, i: int, out: list[bytes]) -> int:
    """Translate the set starting at ``data[i]`` (just after ``[``); returns the next index."""
    n = len(data)
    negate = i < n and data[i] == 0x5E  # ^
    if negate:
        i += 1
    members: list[bytes] = []
    while True:
        if i >= n:
            raise _refuse(pattern, "'[' is never closed")
        char = data[i]
        if char == 0x5C and i + 1 < n:  # an escaped member
            members.append(_byte(data[i + 1]))
            i += 2
        elif char == 0x5D:  # ]
            i += 1
            break
        elif i + 2 < n and data[i + 1] == 0x2D:  # a-z (Redis: any third byte ends the range)
            start, end = char, data[i + 2]
            if end in (0x5D, 0x5C):
                raise _refuse(pattern, f"range '{chr(start)}-{chr(end)}' is ambiguous")
            if start > end:
                raise _refuse(
                    pattern, f"range '{chr(start)}-{chr(end)}' is reversed (write {chr(end)}-"
                    f"{chr(start)})"
                )
            members.append(_byte(start) + b"-" + _byte(end))
            i += 3
        else:
            members.append(_byte(char))
            i += 1
    if not members:
        raise _refuse(pattern, "'[]' is an empty set")
    out.append(b"[" + (b"^" if negate else b"") + b"".join(members) + b"]")
    return i


def glob_match(pattern: str, key: str) -> bool:
    """True when ``key`` matches ``pattern`` as Redis would match it."""
    return compile_glob(pattern).fullmatch(key.encode("utf-8", "surrogatepass")) is not None


def glob_literal_prefix(pattern: str) -> str:
    """The literal text every match starts with (for range scans before matching)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in "*?[":
            break
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        out.append(char)
        i += 1
    return "".join(out)


def is_prefix_pattern(pattern: str) -> bool:
    """True when ``pattern`` is a literal prefix followed by one ``*`` (no matching needed)."""
    return pattern == glob_escape(glob_literal_prefix(pattern)) + "*"
