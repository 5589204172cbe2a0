"""Samples per item and per run: what a run is compared against, and the baseline file.

A :class:`SampleSet` holds, for every step definition, scenario and profiled block, its
samples (ms) *per run*, plus who each run was (host, versions, commit, dirty tree, status)
so the verdict can warn when baseline and current differ. It is built from run records
(:func:`sample_set`) or read from a baseline file teams commit
(``profiling.baseline_file``; ``qhub baseline export`` / ``import``)::

    {"schema": "qhub.baseline/2", "created_at": "...",
     "runs": [{"id": ..., "host": ..., "python": ..., ...}],
     "items": {"step_definition": {"<key>": {"name": ..., "location": ..., "file": ...,
               "step_type": ..., "pattern": ..., "function": ..., "runs": [[ms, ...], ...]}},
               "scenario": {...}, "method": {...}}}

Files of the earlier ``qhub.baseline/1`` format (flat sample lists keyed ``file:line``) are
read as one baseline run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from qhub._record import frozen_record
from qhub.exceptions import ProfilerError
from qhub.profiling.identity import split_location
from qhub.profiling.record import RecordError, RunRecord, decode, to_json

SCHEMA = "qhub.baseline/2"
SCHEMA_V1 = "qhub.baseline/1"
KINDS = ("step_definition", "scenario", "method")
MAX_FILE_BYTES = 256 * 1024 * 1024


@frozen_record
class RunInfo:
    """The facts about a run that make two runs comparable (or not)."""

    id: str
    status: str = ""
    host: str = ""
    python: str = ""
    behave_version: str | None = None
    qhub_version: str = ""
    git_commit: str | None = None
    git_dirty: bool | None = None
    finished_at: str = ""


@frozen_record
class Item:
    """One thing compared, with its samples (ms) per run."""

    kind: str
    key: str
    name: str
    location: str = ""
    file: str = ""
    step_type: str = ""
    pattern: str = ""
    function: str = ""
    signature: str = ""
    parts: int = 1
    """Steps the item is made of (a scenario's); the noise floor is per step."""
    runs: tuple[tuple[float, ...], ...] = ()

    @property
    def samples(self) -> int:
        return sum(len(r) for r in self.runs)


@frozen_record
class SampleSet:
    """Items per kind with samples per run, and the runs they came from."""

    runs: tuple[RunInfo, ...] = ()
    items: Mapping[str, Mapping[str, Item]] = field(default_factory=dict)
    created_at: str = ""
    source: str = ""
    """``history:default``, ``file:<path>`` or ``current``."""

    def is_empty(self) -> bool:
        return not any(self.items.get(kind) for kind in KINDS)

    def count(self) -> int:
        return sum(len(self.items.get(kind, {})) for kind in KINDS)


def run_info(record: RunRecord) -> RunInfo:
    run = record.run
    return RunInfo(
        id=run.id,
        status=run.status,
        host=run.host,
        python=run.python,
        behave_version=run.behave_version,
        qhub_version=run.qhub_version,
        git_commit=run.git_commit,
        git_dirty=run.git_dirty,
        finished_at=run.finished_at,
    )


def sample_set(records: Sequence[RunRecord], source: str = "", created_at: str = "") -> SampleSet:
    """Samples per item per run over ``records`` (each record one run, workers merged)."""
    found: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    for index, record in enumerate(records):

        def add(kind: str, key: str, values: Sequence[float], **info: Any) -> None:
            slot = found[kind].setdefault(key, {"info": info, "runs": {}})
            slot["runs"].setdefault(index, []).extend(values)  # noqa: B023 - called in-loop

        for row in record.step_definitions:
            add("step_definition", row.key, row.samples_ms, name=row.pattern,
                location=row.location, file=row.file, step_type=row.step_type,
                pattern=row.pattern, function=row.function)  # fmt: skip
        for s in record.scenarios:
            add("scenario", s.key, [s.duration_ms], name=s.name, location=s.location,
                file=s.file, signature=s.signature, parts=max(1, s.steps or 1))  # fmt: skip
        for m in record.methods:
            add("method", m.method, m.samples_ms, name=m.method)
    items = {
        kind: {
            key: Item(
                kind=kind,
                key=key,
                runs=tuple(tuple(v) for _, v in sorted(slot["runs"].items())),
                **slot["info"],
            )
            for key, slot in by_key.items()
        }
        for kind, by_key in found.items()
    }
    return SampleSet(
        runs=tuple(run_info(r) for r in records),
        items=items,
        created_at=created_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        source=source,
    )


# -- the baseline file -------------------------------------------------------------------------


def baseline_document(samples: SampleSet) -> dict[str, Any]:
    """The JSON document of a baseline file."""
    return {
        "schema": SCHEMA,
        "created_at": samples.created_at,
        "runs": list(samples.runs),
        "items": {
            kind: {
                key: {
                    "name": i.name, "location": i.location, "file": i.file,
                    "step_type": i.step_type, "pattern": i.pattern, "function": i.function,
                    "signature": i.signature, "parts": i.parts, "runs": i.runs,
                }
                for key, i in samples.items.get(kind, {}).items()
            }
            for kind in KINDS
        },
    }  # fmt: skip


def write_baseline(path: str | os.PathLike[str], samples: SampleSet) -> Path:
    """Write a baseline file atomically and return its path."""
    from qhub._atomic import atomic_write_bytes

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(target, to_json(baseline_document(samples), indent=True))


def read_baseline(path: str | os.PathLike[str]) -> SampleSet:
    """Load a baseline file; :class:`ProfilerError` naming the file when it is unusable."""
    from qhub._bounded import InputLimitError, read_regular_file

    p = Path(path)
    try:
        raw = read_regular_file(p, MAX_FILE_BYTES)
    except InputLimitError as exc:
        raise ProfilerError(f"baseline file {p}: {exc}") from None
    except OSError as exc:
        raise ProfilerError(f"cannot read baseline file {p}: {exc.strerror or exc}") from None
    try:
        import orjson

        data = orjson.loads(raw)
    except ValueError as exc:
        raise ProfilerError(f"baseline file {p} is not valid JSON: {exc}") from None
    return baseline_from_dict(data, f"file:{p}", str(p))


def baseline_from_dict(data: Any, source: str, shown: str = "baseline") -> SampleSet:
    """Validate a parsed baseline file; :class:`ProfilerError` in one line when malformed."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema == SCHEMA_V1:
        return _from_v1(data, source, shown)
    if schema != SCHEMA:
        raise ProfilerError(f"{shown}: not a qhub baseline (expected schema {SCHEMA!r})")
    try:
        runs = tuple(decode(RunInfo, r, "runs[]") for r in data.get("runs") or [])
        items_in = data.get("items") or {}
        if not isinstance(items_in, dict):
            raise RecordError("'items' must be an object")
        items: dict[str, dict[str, Item]] = {}
        for kind in KINDS:
            section = items_in.get(kind, {})
            if not isinstance(section, dict):
                raise RecordError(f"items.{kind} must be an object")
            items[kind] = {
                str(key): decode(Item, {**(value if isinstance(value, dict) else {}),
                                        "kind": kind, "key": str(key)}, f"items.{kind}")
                for key, value in section.items()
            }  # fmt: skip
    except RecordError as exc:
        raise ProfilerError(f"{shown}: {exc}") from None
    return SampleSet(runs, items, str(data.get("created_at") or ""), source)


def _from_v1(data: dict[str, Any], source: str, shown: str) -> SampleSet:
    names = data.get("names") or {}
    if not isinstance(names, dict):
        raise ProfilerError(f"{shown}: 'names' must be an object")
    items: dict[str, dict[str, Item]] = {}
    for kind, section_name in zip(KINDS, ("step_definitions", "scenarios", "methods"), strict=True):
        section = data.get(section_name) or {}
        if not isinstance(section, dict):
            raise ProfilerError(f"{shown}: {section_name!r} must be an object of sample lists")
        found: dict[str, Item] = {}
        for key, samples in section.items():
            if not isinstance(samples, list) or not all(
                isinstance(s, (int, float)) and not isinstance(s, bool) for s in samples
            ):
                raise ProfilerError(f"{shown}: {section_name}[{key!r}] must be a list of numbers")
            name = str(names.get(key, key))
            file = split_location(str(key))[0]
            found[str(key)] = Item(
                kind=kind, key=str(key), name=name, location=str(key), file=file,
                pattern=name if kind == "step_definition" else "",
                runs=(tuple(float(s) for s in samples),) if samples else (),
            )  # fmt: skip
        items[kind] = found
    runs = data.get("runs") or []
    infos = tuple(RunInfo(id=str(r)) for r in runs) if isinstance(runs, list) else ()
    return SampleSet(infos or (RunInfo(id="v1"),), items, str(data.get("created_at") or ""), source)
