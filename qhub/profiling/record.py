"""The frozen run record: everything one profiled run produced, as named, immutable fields.

A :class:`RunRecord` is what the end-of-run builder makes from the collector's capture
(:mod:`qhub.profiling.build`), what the run history stores (as JSON, schema
``qhub.profile/2``), what the verdict compares and what every renderer reads. Nothing is
ever written back into it; a merged record (the workers of one run, or several runs pooled)
is a new record (:mod:`qhub.profiling.merge`).

Serialisation: ``orjson`` serialises these dataclasses natively (:func:`to_json`);
:func:`decode` rebuilds any of them from parsed JSON, checking every field's type, so a
damaged or hostile history row raises :class:`RecordError` instead of breaking later
(:mod:`qhub.profiling.documents` reads stored documents, older schemas included).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Any, TypeVar, cast

from qhub._record import frozen_record

SCHEMA = "qhub.profile/2"
SCHEMA_V1 = "qhub.profile/1"

T = TypeVar("T")


STATUS_SEVERITY = {"sigterm": 5, "sighup": 5, "interrupted": 4, "failed": 3, "error": 3}
"""How a run ended, worst first: the status of several parts is the worst of theirs."""


def worst_status(statuses: Iterable[str | None]) -> str:
    """The most severe run status of ``statuses`` (``passed`` when there is none)."""
    known = [s for s in statuses if s]
    return max(known, key=lambda s: STATUS_SEVERITY.get(s, 0)) if known else "passed"


class RecordError(ValueError):
    """Stored run data does not have the shape of a run record."""


@frozen_record
class RunMeta:
    """Who, where and when: identity and provenance of a run (or of one part of it)."""

    id: str
    """The run: every part (behavex worker, ``QHUB_RUN_ID`` worker) of one run shares it."""
    part: str
    """This part's own id (equal to :attr:`id` for a run of one process)."""
    group_source: str = "own"
    """Where :attr:`id` came from: ``own``, ``QHUB_RUN_ID``, ``behavex`` or ``shard``."""
    pipeline: str | None = None
    """The CI pipeline (e.g. ``github:<run id>-<attempt>``) that several runs may share."""
    shard: str | None = None
    """``I/N`` when this part ran in CI shard I of N (its *lane*: shards run side by side)."""
    worker_id: str | None = None
    mode: str | None = None
    dry_run: bool = False
    tags: tuple[str, ...] = ()
    """The ``--tags`` expressions given to behave, one string each."""
    names: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    argv: tuple[str, ...] = ()
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    """Uncommitted changes to tracked files when the run ended (``None``: unknown)."""
    host: str = ""
    pid: int = 0
    python: str = ""
    implementation: str = ""
    platform: str = ""
    qhub_version: str = ""
    behave_version: str | None = None
    started_at: str | None = None
    finished_at: str = ""
    status: str = "passed"
    """``passed``, ``failed``, or how the run was cut short: ``interrupted``, ``sigterm``,
    ``sighup``."""
    wall_ms: float = 0.0
    start_epoch_ms: float | None = None
    """When the measured span began (process start, or the end of the previous run in the
    same process), as Unix time in ms: lets parts of one run be placed on one time line."""
    workers: int = 1
    worker_ids: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    """Part ids merged into this record (empty for a single part)."""
    pooled_runs: tuple[str, ...] = ()
    """Run ids pooled into this record (``qhub report --last N``); empty for one run."""

    @property
    def merged(self) -> bool:
        """True for a record merged from parts (its ``stats`` are then per worker)."""
        return bool(self.parts)

    @property
    def pooled(self) -> bool:
        """True when several runs (not just workers of one run) were pooled."""
        return len(self.pooled_runs) > 1


@frozen_record
class ScenarioOutcome:
    """One scenario of behave's model with its status and its steps' statuses.

    Kept for runs made of several parts (behavex workers see the whole feature file but run
    only their share), so merged totals count each scenario once, as behave would.
    """

    key: str
    status: str
    steps: Mapping[str, int] = field(default_factory=dict)


@frozen_record
class Totals:
    """Counts by status, as behave counts them (sub-steps of ``execute_steps`` apart)."""

    features: int = 0
    features_by_status: Mapping[str, int] = field(default_factory=dict)
    rules: int = 0
    scenarios: int = 0
    scenarios_by_status: Mapping[str, int] = field(default_factory=dict)
    steps: int = 0
    steps_by_status: Mapping[str, int] = field(default_factory=dict)
    sub_steps: int = 0
    """Steps run through ``context.execute_steps()``; behave's totals leave them out."""
    step_definitions: int = 0
    source: str = "behave model"
    """``behave model`` (counted from behave's own objects, skipped ones included) or
    ``observed`` (only what ran was seen)."""
    outcomes: tuple[ScenarioOutcome, ...] = ()
    """Per-scenario outcomes (only for parts of a run of several processes)."""
    feature_outcomes: Mapping[str, str] = field(default_factory=dict)
    """Feature file -> status (only for parts of a run of several processes)."""

    @property
    def scenarios_failed(self) -> int:
        by = self.scenarios_by_status
        return by.get("failed", 0) + by.get("error", 0)


@frozen_record
class Part:
    """One part of the wall-clock attribution."""

    name: str
    label: str
    ms: float
    percent: float


@frozen_record
class Attribution:
    """The run's wall time cut into parts that add up (see :mod:`qhub.profiling.wall_clock`)."""

    wall_ms: float = 0.0
    parts_total_ms: float = 0.0
    measured_from: str = "process start"
    process_start_source: str = ""
    parts: tuple[Part, ...] = ()

    def ms(self, name: str) -> float:
        """The milliseconds of part ``name`` (0 when absent)."""
        return next((p.ms for p in self.parts if p.name == name), 0.0)


@frozen_record
class TextFigures:
    """Figures of one step text within its step definition."""

    text: str
    count: int
    total_ms: float
    mean_ms: float
    max_ms: float


@frozen_record
class StepDefinitionRow:
    """One ``@given/@when/@then`` function with the figures of every step it ran."""

    key: str
    """Identity across runs: ``file::step type::pattern`` (see :mod:`qhub.profiling.identity`)."""
    location: str
    """``file:line`` of the function in this run."""
    file: str
    line: int | None
    step_type: str
    pattern: str
    function: str
    count: int
    """Every call, including those through ``context.execute_steps()``."""
    nested_calls: int
    """Calls made through ``context.execute_steps()`` (inside another step)."""
    total_ms: float
    mean_ms: float
    min_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    statuses: Mapping[str, int]
    rss_delta_mb: float
    tracemalloc_peak_kb: float
    texts: tuple[TextFigures, ...]
    samples_ms: tuple[float, ...]
    """At most :data:`MAX_STORED_SAMPLES` samples, evenly thinned (the figures use all)."""


@frozen_record
class ScenarioRow:
    """One scenario (one row of a Scenario Outline) as it ran."""

    key: str
    """Identity across runs: ``feature file::name`` plus ``::row`` for outline rows."""
    location: str
    file: str
    line: int | None
    name: str
    feature: str
    status: str
    duration_ms: float
    hooks_ms: float
    steps: int | None
    rss_start_mb: float
    rss_end_mb: float
    rss_delta_mb: float
    error: str | None = None
    """The failing step's error line (for failed scenarios)."""
    failed_step: str | None = None
    """``Given ...`` text and ``file:line`` of the failing step."""
    signature: str = ""
    """A hash of the scenario's step texts: finds a renamed scenario."""
    worker: str | None = None


@frozen_record
class FeatureRow:
    """One feature file as it ran."""

    key: str
    location: str
    name: str
    status: str
    duration_ms: float
    rss_delta_mb: float
    worker: str | None = None


@frozen_record
class HookRow:
    """One hook kind (``before_scenario`` ...) over the run."""

    hook: str
    count: int
    total_ms: float
    mean_ms: float
    max_ms: float
    failed: int


@frozen_record
class ModuleRow:
    """One step module and the time its import took."""

    path: str
    ms: float


@frozen_record
class MethodRow:
    """A block or method timed with ``context.profiler`` (``profile_block``)."""

    method: str
    count: int
    total_ms: float
    mean_ms: float
    min_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    errors: int
    rss_delta_mb: float | None
    samples_ms: tuple[float, ...]


@frozen_record
class Memory:
    """Resident memory over the run (``series``: seconds since process start, MB)."""

    enabled: bool = False
    start_mb: float = 0.0
    end_mb: float = 0.0
    peak_mb: float = 0.0
    series: tuple[tuple[float, float], ...] = ()
    series_by_worker: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


@frozen_record
class RunRecord:
    """One run (or one part of a run, or several runs pooled), frozen."""

    run: RunMeta
    totals: Totals
    attribution: Attribution
    step_definitions: tuple[StepDefinitionRow, ...]
    scenarios: tuple[ScenarioRow, ...]
    features: tuple[FeatureRow, ...]
    hooks: tuple[HookRow, ...]
    step_modules: tuple[ModuleRow, ...]
    methods: tuple[MethodRow, ...]
    memory: Memory
    stats: Mapping[str, Any]
    """Cache, API pool and test-data statistics as collected (merged: per worker)."""
    schema: str = SCHEMA

    def replace(self, **changes: Any) -> RunRecord:
        """A copy with ``changes`` (the record itself never changes)."""
        return dataclasses.replace(self, **changes)


# -- serialisation -----------------------------------------------------------------------------


def to_json(record: Any, *, indent: bool = False) -> bytes:
    """JSON bytes of a record (or any of the dataclasses here); non-JSON values as strings."""
    import orjson

    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(record, option=option, default=str)


def decode(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, checking each field against its annotation."""
    if not isinstance(data, dict):
        raise RecordError(f"{where or cls.__name__}: expected an object")
    kwargs: dict[str, Any] = {}
    for name, tp, has_default in _fields(cast(Any, cls)):
        if name not in data or (data[name] is None and has_default and not _optional(tp)):
            if not has_default:
                raise RecordError(f"{where or cls.__name__}: missing {name!r}")
            continue
        kwargs[name] = _value(tp, data[name], f"{where or cls.__name__}.{name}")
    return cls(**kwargs)


@functools.cache
def _fields(cls: Any) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name],
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    )


def _optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _value(tp: Any, value: Any, where: str) -> Any:
    if tp is Any:
        return value
    if _is_union(tp):
        if value is None and type(None) in typing.get_args(tp):
            return None
        errors = []
        for option in typing.get_args(tp):
            if option is type(None):
                continue
            try:
                return _value(option, value, where)
            except RecordError as exc:
                errors.append(str(exc))
        raise RecordError(errors[0] if errors else f"{where}: unexpected null")
    if dataclasses.is_dataclass(tp):
        return decode(typing.cast(type, tp), value, where)
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise RecordError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, where) for v in value)
        if len(value) != len(args):
            raise RecordError(f"{where}: expected {len(args)} items")
        return tuple(_value(a, v, where) for a, v in zip(args, value, strict=True))
    if origin in (Mapping, dict) or tp is dict:
        if not isinstance(value, dict):
            raise RecordError(f"{where}: expected an object")
        args = typing.get_args(tp) or (str, Any)
        return {str(k): _value(args[1], v, where) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise RecordError(f"{where}: expected true/false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"{where}: expected an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"{where}: expected a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise RecordError(f"{where}: expected a string")
        return value
    raise RecordError(f"{where}: unsupported type {tp!r}")  # pragma: no cover - schema bug
