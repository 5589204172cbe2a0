"""Making the plan of a CI pipeline's shards, the same one in every shard.

Every shard job runs ``qhub shard`` on its own. They agree when they plan from the same
inputs: the same checkout and the same history. A shared (PostgreSQL) history changes
while a pipeline's jobs start (other pipelines finish), so there the first shard to plan
*pins* its plan under the pipeline's id (without GitHub's run attempt, so re-running a
failed shard gets the split it had) and every other shard of the pipeline uses that one:
no scenario is lost or run twice. A SQLite history is a file each runner has its own copy
of (restored from the same artifact or cache): its plan depends on that file only and
nothing is written to it. A shard of a pipeline that cannot reach the shared history
stops with one line rather than split differently from its siblings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from qhub._record import frozen_record
from qhub._warn import warn
from qhub.exceptions import ProfilerError
from qhub.profiling.shard.estimate import Durations, from_history
from qhub.profiling.shard.plan import ShardPlan, make_plan
from qhub.profiling.shard.suite import Suite

if TYPE_CHECKING:
    from qhub.config import QHubConfig


@frozen_record(slots=False)
class Planned:
    plan: ShardPlan
    history_note: str | None
    """Why no history was used, when none was."""


def plan_shards(
    config: QHubConfig,
    suite: Suite,
    total: int,
    by: str,
    *,
    history_runs: int = 10,
    environ: Mapping[str, str] | None = None,
) -> Planned:
    """The plan for this pipeline (pinned in a shared history when there is one)."""
    from qhub.profiling.history import NothingRecordedError, open_history
    from qhub.profiling.provenance import ci_pipeline

    shared = bool(config.profiling.history_url)
    pipeline = ci_pipeline(environ, attempt=False) if shared else None
    try:
        history = open_history(config, readonly=not (shared and pipeline))
    except ProfilerError as exc:
        note = str(exc)
        if pipeline is not None:
            raise _unpinned(pipeline, note) from None
        if not isinstance(exc, NothingRecordedError):
            warn(f"qhub shard: {note}; splitting without history")
        return Planned(make_plan(suite, total, by, Durations()), note)
    with history:
        try:
            durations = from_history(history, history_runs)
        except ProfilerError as exc:
            warn(f"qhub shard: {exc}; splitting without history")
            durations = Durations()
        plan = make_plan(suite, total, by, durations)
        if pipeline is None:
            return Planned(plan, None if durations.runs else "no recorded run has figures")
        key = f"{pipeline}|{plan.digest}"
        try:
            stored = history.pin_plan(key, plan.as_dict())
            plan = ShardPlan.from_dict(stored, pinned_for=pipeline)
        except (ProfilerError, ValueError) as exc:
            raise _unpinned(pipeline, str(exc)) from None
    return Planned(plan, None if plan.history_runs else "no recorded run has figures")


def _unpinned(pipeline: str, why: str) -> ProfilerError:
    """A shard of a pipeline with a shared history that cannot pin its plan stops: other
    shards may have planned from that history, and a different split would lose or double
    scenarios silently."""
    return ProfilerError(
        f"cannot plan shards of pipeline {pipeline} with the shared history ({why}); the"
        " other shards may have used it, so this one will not guess (unset"
        " QHUB_PROFILING_HISTORY_URL in every shard to split without history)"
    )
