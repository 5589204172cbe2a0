"""Shard planning without behave runs: balance, estimates, determinism, CI variables."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from qhub.profiling.provenance import ShardError, ci_pipeline, ci_shard, detect_group
from qhub.profiling.shard.balance import lower_bound, partition, stable_hash
from qhub.profiling.shard.estimate import Durations
from qhub.profiling.shard.plan import ShardPlan, make_plan
from qhub.profiling.shard.suite import FeatureFile, Scenario, Suite, normalize_key


def suite_of(sizes: dict[str, int], *, whole: tuple[str, ...] = ()) -> Suite:
    """Feature files named in ``sizes``, each with that many scenarios on lines 3, 6, ..."""
    features = []
    for file, n in sizes.items():
        scenarios = tuple(Scenario(f"{file}::s{i}", file, 3 * (i + 1), file) for i in range(n))
        features.append(FeatureFile(file, file, scenarios, True, file in whole))
    return Suite(tuple(features))


def loads(groups: list[list[int]], weights: list[float]) -> list[float]:
    return [sum(weights[i] for i in g) for g in groups]


class TestPartition:
    """LPT plus local search: complete, deterministic, close to the lower bound."""

    def test_every_item_once(self) -> None:
        weights = [random.Random(n).uniform(1, 100) for n in range(57)]
        keys = [f"k{n}" for n in range(57)]
        groups = partition(keys, weights, 5)
        assert sorted(i for g in groups for i in g) == list(range(57))

    def test_skewed_within_ten_percent_of_bound(self) -> None:
        """200 items, a few very long: the longest shard is near max(total/N, longest)."""
        rng = random.Random(7)
        weights = [rng.uniform(50, 400) for _ in range(195)] + [9000, 7000, 6000, 5000, 4000]
        keys = [f"features/x{n}.feature::s" for n in range(200)]
        for shards in (2, 4, 8):
            worst = max(loads(partition(keys, weights, shards), weights))
            assert worst <= 1.10 * lower_bound(weights, shards)

    def test_improves_on_plain_lpt(self) -> None:
        """The classic LPT worst case (2 shards: 3,3,2,2,2): LPT gives 7, the optimum 6."""
        weights = [3.0, 3.0, 2.0, 2.0, 2.0]
        groups = partition([f"k{i}" for i in range(5)], weights, 2)
        assert max(loads(groups, weights)) == 6.0

    def test_same_in_every_process(self) -> None:
        """Ties are broken by a stable hash, not Python's per-process hash()."""
        code = (
            "from qhub.profiling.shard.balance import partition;"
            "print(partition([f'k{i}' for i in range(40)], [1.0] * 40, 3))"
        )
        outs = {
            subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            ).stdout
            for seed in (1, 2, 3)
        }
        assert len(outs) == 1
        assert stable_hash("a") == stable_hash("a") != stable_hash("b")


class TestPlan:
    def test_no_history_splits_by_count(self) -> None:
        plan = make_plan(suite_of({"a.feature": 5, "b.feature": 4}), 3, "scenario", Durations())
        assert not plan.timed and sorted(plan.scenarios) == [3, 3, 3]

    def test_unknown_items_get_the_median(self) -> None:
        suite = suite_of({"a.feature": 4})
        known = {"a.feature::s0": 100.0, "a.feature::s1": 300.0, "a.feature::s2": 200.0}
        plan = make_plan(suite, 2, "scenario", Durations(known, {}, 3))
        assert plan.timed and plan.estimated == 1 and plan.median_ms == 200.0
        assert sorted(plan.predicted) == [400.0, 400.0]

    def test_locations_exact_and_grouped_by_file(self) -> None:
        """A shard gets a whole file when it holds all of it, else file:line, by file."""
        suite = suite_of({"a.feature": 3, "b.feature": 1})
        durations = Durations(
            {"a.feature::s0": 10.0, "a.feature::s1": 10.0, "a.feature::s2": 10.0,
             "b.feature::s0": 15.0}, {}, 1,
        )  # fmt: skip
        plan = make_plan(suite, 2, "scenario", durations)
        two_a, one_a_and_b = sorted(plan.shards, key=lambda s: "b.feature" in s)
        assert len(two_a) == 2 and all(a.startswith("a.feature:") for a in two_a)
        assert one_a_and_b[0].startswith("a.feature:") and one_a_and_b[1] == "b.feature"
        lines = sorted(a for a in two_a + one_a_and_b if a.startswith("a.feature:"))
        assert lines == ["a.feature:3", "a.feature:6", "a.feature:9"]
        assert sorted(plan.predicted) == [20.0, 25.0]

    def test_setup_features_stay_whole(self) -> None:
        plan = make_plan(
            suite_of({"a.feature": 6}, whole=("a.feature",)), 3, "scenario", Durations()
        )
        assert sorted(plan.shards) == [(), (), ("a.feature",)]

    def test_feature_overhead_is_paid_per_shard(self) -> None:
        suite = suite_of({"a.feature": 2})
        durations = Durations(
            {"a.feature::s0": 100.0, "a.feature::s1": 100.0}, {"a.feature": 50.0}, 1
        )
        split = make_plan(suite, 2, "scenario", durations)
        assert sorted(split.predicted) == [150.0, 150.0]
        together = make_plan(suite, 2, "feature", durations)
        assert sorted(together.predicted) == [0.0, 250.0]

    def test_round_trip_and_rejects_garbage(self) -> None:
        plan = make_plan(suite_of({"a.feature": 3}), 2, "feature", Durations())
        assert ShardPlan.from_dict(plan.as_dict()) == plan
        with pytest.raises(ValueError, match="not a shard plan"):
            ShardPlan.from_dict({"version": 1, "shards": "x"})


def test_keys_normalized(tmp_path: object) -> None:
    import os

    here = os.getcwd()
    assert normalize_key(f"{here}/features/a.feature::x") == "features/a.feature::x"
    assert normalize_key("./features/../features/a.feature::x::row") == "features/a.feature::x::row"


class TestCiVariables:
    """Which shard this job is, from each CI's own variables (qhub counts from 1)."""

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({"CI_NODE_TOTAL": "4", "CI_NODE_INDEX": "2"}, (2, 4)),
            ({"BUILDKITE_PARALLEL_JOB_COUNT": "3", "BUILDKITE_PARALLEL_JOB": "0"}, (1, 3)),
            ({"CIRCLE_NODE_TOTAL": "5", "CIRCLE_NODE_INDEX": "4"}, (5, 5)),
            ({"SYSTEM_TOTALJOBSINPHASE": "2", "SYSTEM_JOBPOSITIONINPHASE": "2"}, (2, 2)),
            ({}, None),
        ],
    )
    def test_sources(self, env: dict[str, str], expected: tuple[int, int] | None) -> None:
        shard = ci_shard(env)
        assert (None if shard is None else (shard.index, shard.total)) == expected

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ({"CI_NODE_TOTAL": "4", "CI_NODE_INDEX": "0"}, "outside 1..4"),
            ({"CI_NODE_TOTAL": "4"}, "CI_NODE_INDEX is not set"),
            ({"CI_NODE_TOTAL": "four", "CI_NODE_INDEX": "1"}, "not a whole number"),
            ({"CI_NODE_TOTAL": "0", "CI_NODE_INDEX": "1"}, "must be 1 to"),
        ],
    )
    def test_bad_values(self, env: dict[str, str], message: str) -> None:
        with pytest.raises(ShardError, match=message):
            ci_shard(env)

    def test_shards_of_a_pipeline_are_one_run(self) -> None:
        env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "77",
               "GITHUB_RUN_ATTEMPT": "2", "CI_NODE_TOTAL": "3", "CI_NODE_INDEX": "2"}  # fmt: skip
        group = detect_group("part-1", env)
        assert (group.id, group.source, group.shard, group.worker_id) == (
            "github:o-r-77-2", "shard", "2/3", "shard-2"
        )  # fmt: skip
        assert ci_pipeline(env, attempt=False) == "github:o-r-77"
        alone = detect_group("part-1", {k: v for k, v in env.items() if not k.startswith("CI_")})
        assert alone.source == "own"

    def test_bad_variables_never_fail_a_run(self, capfd: pytest.CaptureFixture[str]) -> None:
        env = {"QHUB_PIPELINE_ID": "p", "CI_NODE_TOTAL": "3", "CI_NODE_INDEX": "9"}
        assert detect_group("part-1", env).source == "own"
        assert "not treated as a CI shard" in capfd.readouterr().err
