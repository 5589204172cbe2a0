"""First importer pays; shared dependencies are never counted twice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qhub.imports.attribution import Attribution, SiteKey, attribute, standalone_ms

TREES = {
    "requests": {"requests": 5000, "urllib3": 20000, "idna": 3000},
    "urllib3": {"urllib3": 20000},
    "heavy": {"heavy": 80000, "idna": 3000},
}


class TestAttribute:
    """Costs follow sys.modules semantics in load order."""

    def test_first_importer_pays_later_free(self) -> None:
        sites = [SiteKey("a.py", 1, "heavy"), SiteKey("b.py", 1, "heavy")]
        paid, total = attribute(sites, TREES, baseline=set())
        assert paid[sites[0]] == 83.0 and paid[sites[1]] == 0.0
        assert total == 83.0

    def test_shared_dependencies_not_double_counted(self) -> None:
        sites = [SiteKey("a.py", 1, "requests"), SiteKey("a.py", 2, "urllib3"),
                 SiteKey("b.py", 3, "heavy")]
        paid, total = attribute(sites, TREES, baseline=set())
        assert [paid[s] for s in sites] == [28.0, 0.0, 80.0]
        assert total == 108.0

    def test_baseline_is_free(self) -> None:
        paid, total = attribute([SiteKey("a.py", 1, "requests")], TREES, baseline={"urllib3"})
        assert total == 8.0
        assert standalone_ms(TREES["requests"], {"urllib3", "idna"}) == 5.0
        assert paid

    def test_moving_one_shifts_cost_to_next_importer(self) -> None:
        sites = [SiteKey("a.py", 1, "heavy"), SiteKey("b.py", 1, "heavy")]
        paid, total = attribute(sites, TREES, baseline=set(), skip={sites[0]})
        assert paid == {sites[1]: 83.0} and total == 83.0
        assert attribute(sites, TREES, set(), skip=set(sites))[1] == 0.0


class TestAttributionIndex:
    """The precomputed index answers "what if these moved" exactly like a full re-run."""

    @settings(max_examples=200, deadline=None)
    @given(
        order=st.lists(st.sampled_from(sorted(TREES)), min_size=1, max_size=8),
        moved=st.sets(st.integers(min_value=0, max_value=7)),
        baseline=st.sets(st.sampled_from(["urllib3", "idna", "heavy"])),
    )
    def test_matches_full_attribution(
        self, order: list[str], moved: set[int], baseline: set[str]
    ) -> None:
        sites = [SiteKey(f"f{i}.py", 1, m) for i, m in enumerate(order)]
        index = Attribution(sites, TREES, baseline)
        paid, total = attribute(sites, TREES, baseline)
        assert index.paid == paid and index.total_ms == total
        skip = {sites[i] for i in moved if i < len(sites)}
        expected = total - attribute(sites, TREES, baseline, skip)[1]
        assert index.saving(skip) == pytest.approx(expected)
