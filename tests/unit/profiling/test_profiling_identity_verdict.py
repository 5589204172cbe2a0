"""Identity across edits, honest counts and warnings in the verdict."""

from __future__ import annotations

from typing import Any

import pytest

from qhub.config import load_config
from qhub.profiling.baseline import Item, RunInfo, SampleSet, sample_set
from qhub.profiling.identity import disambiguate, match_items, scenario_key, step_definition_key
from qhub.profiling.regression import RegressionCheck
from qhub.profiling.verdict import compare_sets, count, environment_warnings, judge


def _step(key_file: str, pattern: str, fn: str, runs: Any, line: int = 1) -> Item:
    key = step_definition_key(key_file, "given", pattern)
    return Item("step_definition", key, pattern, f"{key_file}:{line}", key_file, "given",
                pattern, fn, runs=tuple(tuple(r) for r in runs))  # fmt: skip


def _set(*items: Item, runs: int = 1) -> SampleSet:
    by_kind: dict[str, dict[str, Item]] = {}
    for item in items:
        by_kind.setdefault(item.kind, {})[item.key] = item
    return SampleSet(tuple(RunInfo(id=f"r{i}") for i in range(runs)), by_kind, "", "test")


CHECK = RegressionCheck(noise_floor_ms=2.0)


class TestKeys:
    def test_keys(self) -> None:
        assert step_definition_key("steps/a.py", "when", "I wait {ms:d} ms") == (
            "steps/a.py::when::I wait {ms:d} ms"
        )
        assert scenario_key("f/a.feature", "Login", "valid|alice|ok") == (
            "f/a.feature::Login::valid|alice|ok"
        )

    def test_line_only_breaks_ties(self) -> None:
        assert disambiguate(["a", "b", "a"], [3, 4, 9]) == ["a#L3", "b", "a#L9"]


class TestMatching:
    """Moved and renamed items are paired; the rest is listed, never dropped."""

    def test_line_shift_keeps_the_key(self) -> None:
        base = _set(_step("steps/a.py", "I log in", "login", [[15.0]], line=10))
        cur = _set(_step("steps/a.py", "I log in", "login", [[500.0]], line=11))
        (c,) = compare_sets(cur, base, CHECK)
        assert (c.verdict, c.matched_by, c.baseline_location) == (
            "regression",
            "key",
            "steps/a.py:10",
        )

    def test_moved_to_another_file(self) -> None:
        base = _set(_step("steps/a.py", "I log in", "login", [[15.0]]))
        cur = _set(_step("steps/auth.py", "I log in", "login", [[500.0]]))
        (c,) = compare_sets(cur, base, CHECK)
        assert (c.verdict, c.matched_by) == ("regression", "moved")
        assert "moved: was steps/a.py:1" in c.reason

    def test_renamed_pattern_same_function(self) -> None:
        base = _set(_step("steps/a.py", "I log in", "login", [[15.0]]))
        cur = _set(_step("steps/a.py", "the user logs in", "login", [[500.0]]))
        (c,) = compare_sets(cur, base, CHECK)
        assert (c.verdict, c.matched_by, c.baseline_key) == (
            "regression", "renamed", "steps/a.py::given::I log in"
        )  # fmt: skip

    def test_unpaired_are_new_and_gone(self) -> None:
        base = _set(_step("steps/a.py", "old", "old_fn", [[5.0]]))
        cur = _set(_step("steps/b.py", "new", "new_fn", [[5.0]]))
        found = {c.verdict: c for c in compare_sets(cur, base, CHECK)}
        assert set(found) == {"new", "gone"}
        counts = count(list(found.values()))
        assert (counts.compared, counts.new, counts.gone, counts.not_comparable) == (0, 1, 1, 2)

    def test_ambiguous_fallbacks_are_not_paired(self) -> None:
        """Two candidates with the same signature: pairing would be a guess, so none."""
        base = _set(_step("steps/a.py", "x", "f", [[5.0]]), _step("steps/b.py", "x", "g", [[5.0]]))
        cur = _set(_step("steps/c.py", "x", "h", [[5.0]]), _step("steps/d.py", "x", "k", [[5.0]]))
        assert count(compare_sets(cur, base, CHECK)).not_comparable == 4

    def test_match_items_generic(self) -> None:
        m = match_items({"a": 1, "b": 2}, {"a": 1, "c": 2}, [("moved", lambda v: v)])
        assert [(p.current, p.baseline, p.how) for p in m.pairs] == [
            ("a", "a", "key"), ("b", "c", "moved")
        ]  # fmt: skip
        assert (m.new, m.gone) == ((), ())


class TestLineShiftThroughTheObserver:
    """A comment line added at the top of the step file no longer hides a slowdown."""

    def _run(self, make_observer: Any, fx: Any, line: int, ms: float) -> Any:
        d = make_observer()
        d.start()
        d.step(fx.FakeStep("I log in", match=fx.definition("login", line, "I log in")), ms)
        d.finish()
        return d.record

    def test_shifted_definition_still_compared(self, make_observer: Any, fx: Any) -> None:
        before = [self._run(make_observer, fx, 10, ms) for ms in (15.0, 15.4, 14.8)]
        after = self._run(make_observer, fx, 11, 33 * 15.0)
        settings = load_config(environ={}).profiling
        verdict = judge([after], settings, sample_set(before, "test"))
        (c,) = [c for c in verdict.comparisons if c.kind == "step_definition"]
        assert (c.verdict, c.method, c.matched_by) == ("regression", "run-distribution", "key")
        assert c.location == "steps/x.py:11"


class TestVerdict:
    settings = load_config(environ={}).profiling

    def test_no_baseline_is_not_a_green_zero(self, make_observer: Any, fx: Any) -> None:
        d = make_observer()
        d.start()
        d.step(fx.FakeStep("a", match=fx.definition("a", 1)), 5)
        d.finish()
        verdict = judge([d.record], self.settings, None)
        assert verdict.state == "no baseline"
        assert verdict.baseline is None
        assert verdict.counts.compared == 0

    def test_counts(self) -> None:
        base = _set(
            _step("s.py", "slow", "slow", [[10.0]]),
            _step("s.py", "same", "same", [[10.0]]),
            _step("s.py", "gone", "gone", [[10.0]]),
            Item("step_definition", "s.py::given::empty", "empty", file="s.py", runs=()),
        )
        cur = _set(
            _step("s.py", "slow", "slow", [[100.0]]),
            _step("s.py", "same", "same", [[10.1]]),
            _step("s.py", "new", "new", [[10.0]]),
            _step("s.py", "empty", "empty", [[10.0]]),
        )
        counts = count(compare_sets(cur, base, CHECK))
        assert (counts.compared, counts.regressions, counts.unchanged) == (2, 1, 1)
        assert (counts.new, counts.gone, counts.too_few_samples) == (1, 1, 1)
        assert counts.not_comparable == 3
        assert counts.by_method == {"ratio": 2}

    def test_environment_warnings(self) -> None:
        base = [
            RunInfo("b1", "passed", "ci-1", "3.11.7", "1.3.3", "0.4.0", "abc", False),
            RunInfo("b2", "failed", "ci-1", "3.11.7", "1.3.3", "0.4.0", "abc", True),
        ]
        cur = [RunInfo("c", "passed", "laptop", "3.12.1", "1.3.3", "0.5.0", "def", True)]
        warnings = environment_warnings(cur, base)
        assert warnings == [
            "host differs: baseline ci-1, this run laptop; timings may not be comparable",
            "Python differs: baseline 3.11.7, this run 3.12.1; timings may not be comparable",
            "qhub differs: baseline 0.4.0, this run 0.5.0; timings may not be comparable",
            "this run had uncommitted changes (commit def is not exactly what ran)",
            "the baseline was recorded with uncommitted changes",
            "the baseline holds 1 run(s) that did not pass: b2",
        ]

    def test_same_environment_no_warnings(self) -> None:
        info = RunInfo("x", "passed", "h", "3.11.7", "1.3.3", "0.4.0", "abc", False)
        assert environment_warnings([info], [info]) == []


@pytest.mark.parametrize("kind", ["scenario"])
def test_scenario_renamed_by_steps(kind: str) -> None:
    base = _set(Item(kind, "f.feature::Old name", "Old name", "f.feature:3", "f.feature",
                     signature="abc", runs=((20.0,),)))  # fmt: skip
    cur = _set(Item(kind, "f.feature::New name", "New name", "f.feature:3", "f.feature",
                    signature="abc", runs=((90.0,),)))  # fmt: skip
    (c,) = compare_sets(cur, base, CHECK)
    assert (c.verdict, c.matched_by) == ("regression", "renamed")
