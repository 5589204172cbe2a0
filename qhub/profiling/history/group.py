"""One pipeline, one run view: every run of a CI pipeline merged as the parts of one run.

Shards that ran with shard variables (see :func:`qhub.profiling.provenance.ci_shard`) are
already one run whose id is the pipeline's; jobs of the same pipeline that ran without
them are separate runs that carry the pipeline id. :func:`load_group` brings both
together: each scenario counted once, step figures pooled, the wall time the slowest
shard's (or job's), the work summed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from qhub.exceptions import ProfilerError, UsageError
from qhub.profiling.history.base import BEHAVE, RunHistory, RunSummary
from qhub.profiling.record import RunRecord


def resolve_group(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The group id asked for: ``given``, or (empty) this CI pipeline's id."""
    from qhub.profiling.provenance import ci_pipeline

    if given:
        return given
    found = ci_pipeline(os.environ if environ is None else environ)
    if found is None:
        raise UsageError(
            "--group without an ID needs a CI pipeline (GITHUB_RUN_ID, CI_PIPELINE_ID, ... or"
            " QHUB_PIPELINE_ID): none is set; give --group ID"
        )
    return found


def group_runs(history: RunHistory, group_id: str) -> list[RunSummary]:
    """The behave runs of group ``group_id`` (its own run, and runs of that pipeline), oldest
    first."""
    found: dict[str, RunSummary] = {}
    own = history.get_run(group_id)
    if own is not None and own.kind == BEHAVE:
        found[own.id] = own
    for summary in history.runs(pipeline=group_id):
        found.setdefault(summary.id, summary)
    return sorted(found.values(), key=lambda s: s.seq)


def load_group(history: RunHistory, group_id: str) -> RunRecord:
    """Every part of every run of the group, merged as one run named ``group_id``."""
    from qhub.profiling.merge import merge_records

    summaries = group_runs(history, group_id)
    if not summaries:
        raise ProfilerError(
            f"no runs of group {group_id!r} in {history.location} (a group is a CI pipeline id"
            " or a run id; `qhub baseline show` lists the runs)"
        )
    parts = [part for summary in summaries for part in history.parts(summary.id)]
    if not parts:
        raise ProfilerError(f"group {group_id!r} in {history.location} has no readable record")
    merged = merge_records(parts)
    if merged.run.id == group_id:
        return merged
    return dataclasses.replace(merged, run=dataclasses.replace(merged.run, id=group_id))
