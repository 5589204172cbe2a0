"""The first importer pays; savings are what really disappears, never negative."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qhub.audit.costs import CostModel, SiteKey

A1 = SiteKey("steps/a.py", 1, "import heavy")
B1 = SiteKey("steps/b.py", 1, "import heavy")
B2 = SiteKey("steps/b.py", 2, "import other")
TREES = {
    "import heavy": {"heavy": 50_000, "shared": 30_000, "json": 1_000},
    "import other": {"other": 10_000, "shared": 31_000},
}


def model(*sites: SiteKey) -> CostModel:
    return CostModel(list(sites), TREES, baseline={"json"})


def test_first_importer_pays_and_nothing_counts_twice() -> None:
    m = model(A1, B1, B2)
    assert m.paid_ms(A1) == 80.0 and m.paid_ms(B1) == 0.0 and m.paid_ms(B2) == 10.0
    assert m.total_ms == 90.0
    assert m.standalone_ms("import heavy") == 80.0  # behave's json is free


def test_moving_one_saves_only_what_no_one_else_loads() -> None:
    m = model(A1, B1, B2)
    assert m.saving([A1]) == 0.0  # b.py loads heavy anyway
    assert m.saving([A1, B1]) == 50.0  # shared is still loaded by other
    assert m.saving([A1, B1, B2]) == m.total_ms == 90.0
    assert m.gone([A1, B1]) == {"heavy"}
    assert m.also_loading("heavy", {A1}) == [B1]


def test_one_self_time_per_module() -> None:
    m = model(B2, A1)
    assert m.self_us["shared"] == 30_000
    assert m.paid_ms(B2) == 40.0 and m.paid_ms(A1) == 50.0


site_lists = st.lists(st.sampled_from([A1, B1, B2]), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(sites=site_lists, moved=st.sets(st.sampled_from([A1, B1, B2])),
       more=st.sets(st.sampled_from([A1, B1, B2])))
def test_savings_are_bounded_and_monotonic(sites: list[SiteKey], moved: set[SiteKey],
                                           more: set[SiteKey]) -> None:
    m = model(*sites)
    saved = m.saving(moved)
    assert 0.0 <= saved <= m.total_ms
    assert m.saving(moved | more) >= saved
    assert abs(sum(m.paid_ms(s) for s in set(sites)) - m.total_ms) < 1e-9
