"""qhub's glob: Redis's meaning, checked against a transcription of Redis's matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qhub.cache.patterns import compile_glob, glob_escape, glob_match, is_prefix_pattern
from qhub.exceptions import PatternError


def redis_stringmatch(pattern: bytes, string: bytes) -> bool:
    """Redis's ``stringmatchlen`` (util.c), transcribed for byte strings, nocase off."""
    p, s = 0, 0
    while p < len(pattern) and s <= len(string):
        c = pattern[p]
        if c == ord("*"):
            while p + 1 < len(pattern) and pattern[p + 1] == ord("*"):
                p += 1
            if p + 1 == len(pattern):
                return True
            return any(redis_stringmatch(pattern[p + 1:], string[i:])
                       for i in range(s, len(string) + 1))
        if s == len(string):
            return False
        if c == ord("?"):
            s += 1
        elif c == ord("["):
            p += 1
            negate = p < len(pattern) and pattern[p] == ord("^")
            if negate:
                p += 1
            match = False
            while True:
                if p < len(pattern) - 1 and pattern[p] == ord("\\"):
                    p += 1
                    match |= pattern[p] == string[s]
                elif p < len(pattern) and pattern[p] == ord("]"):
                    break
                elif p >= len(pattern):
                    p -= 1
                    break
                elif p + 2 < len(pattern) and pattern[p + 1] == ord("-"):
                    lo, hi = sorted((pattern[p], pattern[p + 2]))
                    p += 2
                    match |= lo <= string[s] <= hi
                else:
                    match |= pattern[p] == string[s]
                p += 1
            if negate:
                match = not match
            if not match:
                return False
            s += 1
        else:
            if c == ord("\\") and p + 1 < len(pattern):
                p += 1
                c = pattern[p]
            if c != string[s]:
                return False
            s += 1
        p += 1
    return p == len(pattern) and s == len(string)


ALPHABET = st.sampled_from(list("ab!^-]*?[\\é:"))


class TestRedisMeaning:
    """Every pattern qhub accepts matches exactly what Redis matches."""

    @settings(max_examples=400, deadline=None)
    @given(pattern=st.text(ALPHABET, max_size=7), key=st.text(ALPHABET, max_size=6))
    def test_same_as_redis(self, pattern: str, key: str) -> None:
        """Random patterns and keys: accepted ones agree with Redis byte for byte."""
        try:
            compile_glob(pattern)
        except PatternError:
            return
        expected = redis_stringmatch(pattern.encode(), key.encode())
        assert glob_match(pattern, key) is expected

    @pytest.mark.parametrize(("pattern", "key", "matches"), [
        ("[!a]", "!", True), ("[!a]", "b", False), ("[^a]", "b", True),
        ("caf?", "café", False), ("caf??", "café", True), ("a\\*", "a*", True),
        ("a\\*", "ab", False), ("*", "", True), ("[a-c]x", "bx", True),
    ])
    def test_examples(self, pattern: str, key: str, matches: bool) -> None:
        """Redis's choices that surprise fnmatch users: no ``!`` negation, ``?`` is a byte."""
        assert glob_match(pattern, key) is matches


class TestRefused:
    """Patterns Redis silently reinterprets are refused with one line."""

    @pytest.mark.parametrize("pattern", ["[z-a]", "[ab", "[]", "[^]", "x\\", "[a-]", "[a-\\]"])
    def test_refused(self, pattern: str) -> None:
        with pytest.raises(PatternError) as raised:
            compile_glob(pattern)
        assert "\n" not in str(raised.value) and repr(pattern) in str(raised.value)

    def test_not_a_string(self) -> None:
        with pytest.raises(PatternError, match="must be a string"):
            compile_glob(b"x*")  # type: ignore[arg-type]


def test_escape_round_trip() -> None:
    """An escaped text matches itself only, and a prefix plus * is recognised as such."""
    text = "a*b?[c]\\d"
    assert glob_match(glob_escape(text), text)
    assert not glob_match(glob_escape(text), "a*b?[c]\\e")
    assert is_prefix_pattern(glob_escape(text) + "*")
    assert not is_prefix_pattern("a?*")
