"""Reading a response body into memory with a cap on its size *after* decompression.

urllib3 (>= 2.6) decompresses incrementally when asked for a number of bytes, so reading
``limit + 1`` decoded bytes never inflates more than that: a 1 MB gzip bomb stops at the
cap instead of growing to gigabytes. An uncompressed body whose ``Content-Length`` is over
the cap is refused before a byte of it is read.
"""

from __future__ import annotations

from typing import Any

_CHUNK = 1 << 20
"""Bytes asked for per read when the length is unknown (bounds each read's buffer)."""


class BodyTooLarge(Exception):
    """The body is larger than the cap; ``size`` is what was known (declared or read)."""

    def __init__(self, size: int, declared: bool) -> None:
        super().__init__(size)
        self.size = size
        self.declared = declared


def read_body(raw: Any, limit: int) -> bytes:
    """The whole (decoded) body of the urllib3 response ``raw``, at most ``limit`` bytes.

    Over the cap, the connection is closed (not drained: draining a bomb is the problem)
    and :class:`BodyTooLarge` is raised.
    """
    length = raw.length_remaining
    encoded = "content-encoding" in raw.headers
    if not encoded and length is not None:
        if length > limit:
            _discard(raw)
            raise BodyTooLarge(length, declared=True)
        data: bytes = raw.read()  # exactly Content-Length bytes: the common case, one read
        return data
    chunks: list[bytes] = []
    total = 0
    while True:
        wanted = min(_CHUNK, limit + 1 - total)
        chunk = raw.read(wanted)  # exactly ``wanted`` bytes unless the body ended
        total += len(chunk)
        if total > limit:
            _discard(raw)
            raise BodyTooLarge(total, declared=False)
        chunks.append(chunk)
        if len(chunk) < wanted:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _discard(raw: Any) -> None:
    """Close the connection under ``raw`` and give the (closed) slot back to its pool."""
    try:
        raw.close()
    finally:
        raw.release_conn()
