"""The audit's on-disk cache: one small JSON file per key, written atomically.

Whatever is read back may be stale or hostile: a file that is not a regular file, too
large, not JSON or not of this format is a miss, never an error. A cache that cannot be
written only costs speed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from qhub._atomic import AtomicWriteError, atomic_write_text
from qhub._bounded import InputLimitError, read_regular_text

FORMAT = 2
_MAX_BYTES = 8 * 1024 * 1024


class JsonCache:
    """Values under hashed keys in ``folder`` (``None``: a cache that never hits)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @staticmethod
    def key(*parts: Any) -> str:
        raw = json.dumps([FORMAT, *parts], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        try:
            data = json.loads(read_regular_text(self.folder / f"{key}.json", _MAX_BYTES))
        except (OSError, ValueError, InputLimitError, RecursionError):
            return None
        if isinstance(data, dict) and data.get("format") == FORMAT:
            return data
        return None

    def put(self, key: str, data: dict[str, Any]) -> None:
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / f"{key}.json", json.dumps({**data, "format": FORMAT}))
        except (OSError, AtomicWriteError):
            return
