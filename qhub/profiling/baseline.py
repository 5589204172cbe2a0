"""Baselines: the samples a run is compared against, and their JSON file format.

A baseline is pinned in the history database (``qhub baseline set``) or kept in a JSON file
teams commit (``profiling.baseline_file``; ``qhub baseline export`` / ``import``). The file
holds raw samples (ms) so the statistical test has something to work with::

    {"schema": "qhub.baseline/1", "created_at": "...", "runs": ["<run id>", ...],
     "step_definitions": {"<key>": [ms, ...]}, "scenarios": {...}, "methods": {...},
     "names": {"<key>": "<display name>"}}
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qhub.exceptions import ProfilerError

SCHEMA = "qhub.baseline/1"
_KINDS = ("step_definitions", "scenarios", "methods")


@dataclass
class Baseline:
    """Samples in ms per key for each kind of thing compared."""

    step_definitions: dict[str, list[float]] = field(default_factory=dict)
    scenarios: dict[str, list[float]] = field(default_factory=dict)
    methods: dict[str, list[float]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    created_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "created_at": self.created_at,
            "runs": self.runs,
            "step_definitions": self.step_definitions,
            "scenarios": self.scenarios,
            "methods": self.methods,
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "baseline") -> Baseline:
        """Validate ``data`` (a parsed baseline file); :class:`ProfilerError` when malformed."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ProfilerError(f"{source}: not a qhub baseline (expected schema {SCHEMA!r})")
        parsed: dict[str, dict[str, list[float]]] = {}
        for kind in _KINDS:
            section = data.get(kind, {})
            if not isinstance(section, dict):
                raise ProfilerError(f"{source}: {kind!r} must be an object of sample lists")
            parsed[kind] = {}
            for key, samples in section.items():
                if not isinstance(samples, list) or not all(
                    isinstance(s, (int, float)) and not isinstance(s, bool) for s in samples
                ):
                    raise ProfilerError(f"{source}: {kind}[{key!r}] must be a list of numbers")
                parsed[kind][str(key)] = [float(s) for s in samples]
        names = data.get("names", {})
        runs = data.get("runs", [])
        if not isinstance(names, dict) or not isinstance(runs, list):
            raise ProfilerError(f"{source}: 'names' must be an object and 'runs' a list")
        return cls(
            **parsed,
            names={str(k): str(v) for k, v in names.items()},
            runs=[str(r) for r in runs],
            created_at=str(data.get("created_at", "")),
        )

    def is_empty(self) -> bool:
        return not (self.step_definitions or self.scenarios or self.methods)


def read_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Load a baseline file; :class:`ProfilerError` naming the file when it is unusable."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfilerError(f"cannot read baseline file {p}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ProfilerError(f"baseline file {p} is not valid JSON: {exc}") from None
    return Baseline.from_dict(data, str(p))


def write_baseline(path: str | os.PathLike[str], baseline: Baseline) -> Path:
    """Write ``baseline`` atomically (temp file + rename) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(baseline.as_dict(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, p)
    return p
