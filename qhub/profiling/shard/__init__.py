"""CI shards balanced by recorded durations (``qhub shard``).

:func:`qhub.profiling.shard.suite.collect` reads behave's selection without running user
code; :func:`qhub.profiling.shard.estimate.from_history` reads recorded durations;
:func:`qhub.profiling.shard.plan.make_plan` splits the suite
(:mod:`qhub.profiling.shard.balance`). Which shard a CI job is comes from
:func:`qhub.profiling.provenance.ci_shard`, which also makes the shards of one pipeline one
run. This package lives in :mod:`qhub.profiling` because it schedules by profiling's own
history and scenario identities.
"""
