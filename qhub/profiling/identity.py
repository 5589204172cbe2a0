"""Identity of step definitions and scenarios across runs, so comparisons survive edits.

A ``file:line`` key breaks on the first comment added at the top of a step file. Here:

* a **step definition** is ``<file>::<step type>::<pattern>`` (the line is added only to
  tell apart two definitions that would otherwise share a key);
* a **scenario** is ``<feature file>::<name>``, plus ``::<examples name>|<row cells>`` for
  a row of a Scenario Outline (so inserting a row does not shift the others).

When a key has no partner on the other side, :func:`match_items` still pairs items that
evidently are the same thing: a step definition moved to another file (same step type and
pattern), or renamed (same file and function); a scenario moved (same name, other file) or
renamed (same file and steps). Whatever stays unpaired is reported as new or gone, never
silently dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from qhub._record import frozen_record

SEP = "::"


def step_definition_key(file: str, step_type: str, pattern: str) -> str:
    """The identity of a step definition."""
    return f"{file}{SEP}{step_type}{SEP}{pattern}"


def scenario_key(file: str, name: str, row: str | None = None) -> str:
    """The identity of a scenario (``row``: the outline row, for generated scenarios)."""
    base = f"{file}{SEP}{name}"
    return f"{base}{SEP}{row}" if row else base


def split_location(location: str) -> tuple[str, int | None]:
    """``("features/steps/x.py", 12)`` from ``"features/steps/x.py:12"``."""
    path, sep, line = location.rpartition(":")
    if sep and line.isdigit():
        return path, int(line)
    return location, None


def steps_signature(texts: Iterable[str]) -> str:
    """A short hash of a scenario's step texts (finds the same scenario under a new name)."""
    joined = "\n".join(texts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=8).hexdigest()


def disambiguate(keys: Sequence[str], lines: Sequence[int | None]) -> list[str]:
    """``keys`` with ``#L<line>`` added to every key that occurs more than once."""
    seen: dict[str, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    return [
        f"{key}#L{line}" if seen[key] > 1 else key for key, line in zip(keys, lines, strict=True)
    ]


@frozen_record
class Pairing:
    """How one current item was paired with a baseline item."""

    current: str
    baseline: str
    how: str
    """``key`` (same identity), ``moved`` or ``renamed``."""


@frozen_record
class Matching:
    """The result of :func:`match_items` for one kind of item."""

    pairs: tuple[Pairing, ...]
    new: tuple[str, ...]
    """Current keys with no baseline partner."""
    gone: tuple[str, ...]
    """Baseline keys with no current partner."""


def match_items(
    current: Mapping[str, Any],
    baseline: Mapping[str, Any],
    fallbacks: Sequence[tuple[str, Callable[[Any], Hashable | None]]],
) -> Matching:
    """Pair current and baseline items by key, then by each fallback signature in turn.

    ``fallbacks`` are ``(how, signature)``: items whose signature is equal, not ``None`` and
    unique on both sides (among the still unpaired) are paired as ``how``.
    """
    pairs = [Pairing(k, k, "key") for k in current if k in baseline]
    left = [k for k in current if k not in baseline]
    right = [k for k in baseline if k not in current]
    for how, signature in fallbacks:
        cur_sig = _unique_signatures(left, current, signature)
        base_sig = _unique_signatures(right, baseline, signature)
        paired = {sig: (ck, base_sig[sig]) for sig, ck in cur_sig.items() if sig in base_sig}
        for ck, bk in paired.values():
            pairs.append(Pairing(ck, bk, how))
        done_cur = {ck for ck, _ in paired.values()}
        done_base = {bk for _, bk in paired.values()}
        left = [k for k in left if k not in done_cur]
        right = [k for k in right if k not in done_base]
    return Matching(tuple(pairs), tuple(left), tuple(right))


def _unique_signatures(
    keys: Iterable[str], items: Mapping[str, Any], signature: Callable[[Any], Hashable | None]
) -> dict[Hashable, str]:
    found: dict[Hashable, str | None] = {}
    for key in keys:
        sig = signature(items[key])
        if sig is None:
            continue
        found[sig] = None if sig in found else key
    return {sig: key for sig, key in found.items() if key is not None}
