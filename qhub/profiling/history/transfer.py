"""Moving run history between backends as JSON lines (``qhub history export|import``).

The file (format ``qhub.history/1``) is one JSON object per line::

    {"format": "qhub.history/1", "schema": 3, "exported_at": "...", "source": "..."}
    {"type": "part", "run": ID, "kind": "behave", "part": ..., "document": {...}}   oldest first
    {"type": "figures", "run": ID, "figures": {...}}                                 after its parts
    {"type": "baseline", "name": "default", "created_at": "...", "runs": [...]}
    {"type": "end", "runs": N, "parts": M}

A ``behave`` part's document is its run record (``qhub.profile/2``); other kinds (stress)
carry their own document. The last line counts what came before, so a truncated file is
refused rather than half imported. Importing checks the whole file before writing
anything; parts are stored by their part ids, so importing the same file twice changes
nothing. A baseline already pinned under the same name in the target is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from qhub.exceptions import ProfilerError
from qhub.profiling.history.base import BEHAVE, PinnedBaseline, RunHistory
from qhub.profiling.record import RecordError

FORMAT = "qhub.history/1"
MAX_LINE_BYTES = 64 * 1024 * 1024
"""A line longer than this is refused (no stored record is that large)."""
_MAX_ID = 400


@dataclass
class Counts:
    """What an export or import moved."""

    runs: int = 0
    parts: int = 0
    baselines: int = 0
    skipped_baselines: list[str] = field(default_factory=list)


def export_lines(history: RunHistory, *, kind: str | None = None) -> Iterator[bytes]:
    """The JSON lines of every run of ``kind`` (``None``: all kinds), oldest first."""
    yield _line(
        {
            "format": FORMAT,
            "schema": 3,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": history.location,
        }
    )
    summaries = list(reversed(history.runs(kind=kind)))
    figures = history.figures([s.id for s in summaries])
    runs = parts = 0
    for summary in summaries:
        stored = history.documents(summary.id)
        if not stored:
            continue
        runs += 1
        for item in stored:
            parts += 1
            yield _line(
                {
                    "type": "part", "run": summary.id, "kind": item.kind, "part": item.part,
                    "status": item.status, "wall_ms": item.wall_ms,
                    "finished_at": item.finished_at, "pipeline": summary.pipeline,
                    "document": item.document,
                }
            )  # fmt: skip
        if summary.id in figures:
            yield _line({"type": "figures", "run": summary.id, "figures": figures[summary.id]})
    baselines = history.baselines()
    for pinned in baselines:
        yield _line(
            {"type": "baseline", "name": pinned.name, "created_at": pinned.created_at,
             "runs": list(pinned.runs)}
        )  # fmt: skip
    yield _line({"type": "end", "runs": runs, "parts": parts, "baselines": len(baselines)})


def _line(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data) + b"\n"


# -- import ------------------------------------------------------------------------------------


def read_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each line; :class:`ProfilerError` on the first bad one."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ProfilerError(f"{name}:{number}: line longer than {MAX_LINE_BYTES} bytes")
        if not raw.strip():
            continue
        try:
            data = orjson.loads(raw)
        except ValueError as exc:
            raise ProfilerError(f"{name}:{number}: not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ProfilerError(f"{name}:{number}: not a JSON object")
        yield number, data


def _text(data: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise ProfilerError(f"{where}: {key!r} must be a non-empty string")
    return value


def _number(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfilerError(f"{where}: {key!r} must be a number")
    return float(value)


def check_file(path: Path) -> Counts:
    """Read the whole file and check every line (nothing written); its counts."""
    from qhub.profiling.documents import record_from_dict

    counts = Counts()
    runs: set[str] = set()
    seen_header = seen_end = False
    with _open(path) as stream:
        for number, data in read_lines(stream, str(path)):
            where = f"{path}:{number}"
            if seen_end:
                raise ProfilerError(f"{where}: text after the end line")
            if not seen_header:
                if data.get("format") != FORMAT:
                    raise ProfilerError(f"{where}: not a qhub history export (format {FORMAT})")
                seen_header = True
                continue
            kind = data.get("type")
            if kind == "part":
                run = _text(data, "run", where)
                part_kind = _text(data, "kind", where)
                document = data.get("document")
                if not isinstance(document, dict):
                    raise ProfilerError(f"{where}: 'document' must be an object")
                if part_kind == BEHAVE:
                    try:
                        record = record_from_dict(document)
                    except RecordError as exc:
                        raise ProfilerError(f"{where}: damaged run record: {exc}") from None
                    if record.run.id != run:
                        raise ProfilerError(f"{where}: the record belongs to run {record.run.id}")
                else:
                    _text(data, "part", where)
                    _number(data, "wall_ms", where)
                assert run is not None
                runs.add(run)
                counts.parts += 1
            elif kind == "figures":
                _text(data, "run", where)
                if not isinstance(data.get("figures"), dict):
                    raise ProfilerError(f"{where}: 'figures' must be an object")
            elif kind == "baseline":
                _text(data, "name", where)
                names = data.get("runs")
                if not isinstance(names, list) or not all(isinstance(r, str) for r in names):
                    raise ProfilerError(f"{where}: 'runs' must be a list of run ids")
                counts.baselines += 1
            elif kind == "end":
                if (data.get("runs"), data.get("parts")) != (len(runs), counts.parts):
                    raise ProfilerError(
                        f"{where}: the file says {data.get('runs')} runs and"
                        f" {data.get('parts')} parts, but holds {len(runs)} and {counts.parts}"
                    )
                seen_end = True
            else:
                raise ProfilerError(f"{where}: unknown line type {str(kind)[:40]!r}")
    if not seen_header:
        raise ProfilerError(f"{path} is empty: not a qhub history export")
    if not seen_end:
        raise ProfilerError(f"{path} is truncated (no end line): nothing imported")
    counts.runs = len(runs)
    return counts


def import_file(history: RunHistory, path: Path) -> Counts:
    """Check ``path``, then store everything in it (see the module docstring)."""
    from qhub.profiling.documents import record_from_dict

    expected = check_file(path)
    counts = Counts(runs=expected.runs)
    figures_for: dict[str, Any] = {}
    touched: list[str] = []
    baselines: list[PinnedBaseline] = []
    with _open(path) as stream:
        for _, data in _skip_header(read_lines(stream, str(path))):
            kind = data["type"]
            if kind == "part":
                run = str(data["run"])
                if run not in touched:
                    touched.append(run)
                if data["kind"] == BEHAVE:
                    history.add_part(record_from_dict(data["document"]), kind=BEHAVE)
                else:
                    history.add_document(
                        data["document"], run_id=run, part=str(data["part"]),
                        kind=str(data["kind"]), status=str(data.get("status") or "passed"),
                        wall_ms=_number(data, "wall_ms", ""),
                        finished_at=str(data.get("finished_at") or ""),
                        pipeline=data.get("pipeline") if isinstance(data.get("pipeline"), str)
                        else None,
                    )  # fmt: skip
                counts.parts += 1
            elif kind == "figures":
                figures_for[str(data["run"])] = data["figures"]
            elif kind == "baseline":
                baselines.append(
                    PinnedBaseline(
                        str(data["name"]), str(data.get("created_at") or ""), tuple(data["runs"])
                    )
                )
    for run in touched:
        _store_figures(history, run, figures_for.get(run))
    for pinned in baselines:
        if history.baseline(pinned.name) is not None:
            counts.skipped_baselines.append(pinned.name)
            continue
        history.put_baseline(pinned)
        counts.baselines += 1
    return counts


def _store_figures(history: RunHistory, run: str, given: Any) -> None:
    """The run's figures: as exported (checked like stored ones), else computed from its
    parts."""
    from qhub.profiling.history import run_figures
    from qhub.profiling.history.codec import decode_figures, encode_figures
    from qhub.profiling.merge import merge_records

    summary = history.get_run(run)
    if summary is None or summary.kind != BEHAVE:
        return
    figures = decode_figures(encode_figures(given)) if isinstance(given, dict) else None
    if figures is None:
        parts = history.parts(run)
        if not parts:
            return
        figures = run_figures(merge_records(parts))
    history.set_figures(run, figures, parts=summary.parts)


def _skip_header(
    lines: Iterable[tuple[int, dict[str, Any]]],
) -> Iterator[tuple[int, dict[str, Any]]]:
    first = True
    for item in lines:
        if first:
            first = False
            continue
        yield item


def _open(path: Path) -> IO[bytes]:
    """The export file, refusing what is not a regular file (a FIFO would block)."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ProfilerError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ProfilerError(f"{path} is not a regular file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise ProfilerError(f"{path}: {exc.strerror or exc}") from None
