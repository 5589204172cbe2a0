"""Splitting weighted items into N shards whose longest is as short as possible.

Longest-processing-time-first (LPT): items from the heaviest down, each to the shard with
the least work so far; then a bounded local search moves an item off the longest shard,
or swaps a heavier item there for a lighter one elsewhere, while that shortens the
longest shard. Ties are broken by a stable hash of each item's key and by shard number,
never by Python's per-process ``hash()``, so every CI job computes the same split.

The result is never worse than LPT's (within 4/3 of the optimum), and usually within a
few percent of the lower bound ``max(total / N, heaviest item)``.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Sequence

MAX_ROUNDS = 10_000
SWAP_LIMIT = 1_000
"""Items beyond which only moves are tried (swaps are quadratic in the shard sizes)."""


def stable_hash(key: str) -> int:
    """A hash of ``key`` that is the same in every process and on every machine."""
    return int.from_bytes(
        hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


def lower_bound(weights: Sequence[float], shards: int) -> float:
    """No split can finish before ``max(total / shards, heaviest item)``."""
    if not weights:
        return 0.0
    return max(sum(weights) / shards, *weights)


def partition(keys: Sequence[str], weights: Sequence[float], shards: int) -> list[list[int]]:
    """Item indexes per shard (each list in ascending index order)."""
    if shards < 1:
        raise ValueError("shards must be at least 1")
    order = sorted(range(len(keys)), key=lambda i: (-weights[i], stable_hash(keys[i]), keys[i]))
    heap = [(0.0, s) for s in range(shards)]
    members: list[list[int]] = [[] for _ in range(shards)]
    for i in order:
        load, s = heapq.heappop(heap)
        members[s].append(i)
        heapq.heappush(heap, (load + weights[i], s))
    _improve(members, weights, swaps=len(keys) <= SWAP_LIMIT)
    return [sorted(m) for m in members]


def _improve(members: list[list[int]], weights: Sequence[float], *, swaps: bool) -> None:
    """Move or swap items off the longest shard while that makes it shorter."""
    loads = [sum(weights[i] for i in m) for m in members]
    for _ in range(MAX_ROUNDS):
        top = max(range(len(loads)), key=lambda s: (loads[s], -s))
        best: tuple[float, int, int, int | None] | None = None  # new max, item, shard, swap
        for item in members[top]:
            w = weights[item]
            for other in range(len(loads)):
                if other == top:
                    continue
                moved = max(loads[top] - w, loads[other] + w)
                if moved < loads[top] - 1e-9 and (best is None or moved < best[0]):
                    best = (moved, item, other, None)
                if not swaps:
                    continue
                for partner in members[other]:
                    v = weights[partner]
                    if v >= w:
                        continue
                    swapped = max(loads[top] - w + v, loads[other] + w - v)
                    if swapped < loads[top] - 1e-9 and (best is None or swapped < best[0]):
                        best = (swapped, item, other, partner)  # a swap
        if best is None:
            return
        _, moved_item, to, swapped_item = best
        members[top].remove(moved_item)
        members[to].append(moved_item)
        loads[top] -= weights[moved_item]
        loads[to] += weights[moved_item]
        if swapped_item is not None:
            members[to].remove(swapped_item)
            members[top].append(swapped_item)
            loads[to] -= weights[swapped_item]
            loads[top] += weights[swapped_item]
