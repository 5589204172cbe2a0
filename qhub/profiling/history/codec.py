"""How every history backend stores documents: compressed JSON, read back defensively.

Stored data may be hostile (a shared database, an imported file): a row that does not
inflate, inflates beyond :data:`MAX_DOC_BYTES` (a zlib bomb) or is not a valid document is
*damaged* (:class:`~qhub.profiling.record.RecordError`), never an exception later.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from qhub.profiling.history.base import Figures, StoredPart
from qhub.profiling.record import RecordError, RunRecord, to_json

MAX_DOC_BYTES = 64 * 1024 * 1024
"""A stored record inflating beyond this is treated as damaged (a zlib bomb)."""
MAX_FIGURES_BYTES = 16 * 1024 * 1024


def encode(record: RunRecord) -> bytes:
    """Compressed JSON of a record."""
    return zlib.compress(to_json(record), level=6)


def encode_document(document: Mapping[str, Any]) -> bytes:
    """Compressed JSON of any JSON-able document (kinds of runs without a RunRecord)."""
    return zlib.compress(orjson.dumps(document), level=6)


def inflate(blob: Any, limit: int = MAX_DOC_BYTES) -> Any:
    """The JSON value stored in ``blob``; :class:`RecordError` when it is damaged."""
    if isinstance(blob, memoryview):
        blob = blob.tobytes()
    if not isinstance(blob, bytes):
        raise RecordError("stored record is not a blob")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, limit)
        if inflater.unconsumed_tail:
            raise RecordError(f"stored record inflates beyond {limit} bytes")
        return orjson.loads(raw)
    except (zlib.error, ValueError) as exc:
        raise RecordError(f"stored record is unreadable: {exc}") from None


def decode(blob: Any) -> RunRecord:
    """The record stored in ``blob``; :class:`RecordError` when it is damaged."""
    from qhub.profiling.documents import record_from_dict

    return record_from_dict(inflate(blob))


def decode_document(blob: Any) -> dict[str, Any]:
    """A stored document (an object); :class:`RecordError` when it is damaged."""
    data = inflate(blob)
    if not isinstance(data, dict):
        raise RecordError("stored document is not an object")
    return data


def encode_figures(figures: Figures) -> bytes:
    return zlib.compress(orjson.dumps(figures), level=6)


def decode_figures(blob: Any) -> Figures | None:
    """Stored per-item figures, or ``None`` when damaged (the trend just lacks them)."""
    try:
        data = inflate(blob, MAX_FIGURES_BYTES)
        return {
            str(kind): {str(k): (float(v[0]), int(v[1])) for k, v in items.items()}
            for kind, items in data.items()
        }
    except (RecordError, TypeError, ValueError, AttributeError, IndexError, KeyError):
        return None


def decode_run_list(raw: Any) -> list[str] | None:
    """A pinned baseline's run ids (JSON list), or ``None`` when damaged."""
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    try:
        runs = orjson.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(runs, list):
        return None
    return [str(r) for r in runs]


Damaged = list[tuple[str, str]]
"""(part id, why) of stored parts that did not decode."""


def decode_parts(rows: Iterable[tuple[Any, Any]]) -> tuple[list[RunRecord], Damaged]:
    """``(id, doc)`` rows as run records, oldest first, and the rows that did not decode
    (one damaged row never hides the others)."""
    out: list[RunRecord] = []
    damaged: Damaged = []
    for part_id, blob in rows:
        try:
            out.append(decode(blob))
        except RecordError as exc:
            damaged.append((str(part_id), str(exc)))
    return out, damaged


def decode_stored(rows: Iterable[tuple[Any, ...]]) -> tuple[list[StoredPart], Damaged]:
    """``(id, kind, status, wall_ms, finished_at, doc)`` rows as stored parts, and the rows
    whose document did not decode."""
    out: list[StoredPart] = []
    damaged: Damaged = []
    for part_id, kind, status, wall, finished, blob in rows:
        try:
            doc = decode_document(blob)
        except RecordError as exc:
            damaged.append((str(part_id), str(exc)))
            continue
        out.append(StoredPart(str(part_id), str(kind), status, wall, finished, doc))
    return out, damaged
