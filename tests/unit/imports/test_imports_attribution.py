"""First importer pays; shared dependencies are never counted twice."""

from __future__ import annotations

from qhub.imports.attribution import SiteKey, attribute, standalone_ms

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
