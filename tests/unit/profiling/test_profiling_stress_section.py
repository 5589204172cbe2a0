"""The HTML report's stress section, from stored stress documents, honest and hostile.

The honest document is a real ``StressResult.as_dict()`` (what ``qhub stress`` records), so
a change of the stored layout breaks these tests rather than the report.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from typing import Any

import pytest

from qhub.config import StressSettings
from qhub.profiling.history import STRESS, RunSummary
from qhub.profiling.render import RenderOptions, renderer
from qhub.profiling.render.html_stress import stress_parts
from qhub.profiling.render.stress_view import (
    MAX_ENDPOINTS,
    MAX_TIMELINE_POINTS,
    StressDocumentError,
    read_stress,
)
from qhub.profiling.reporting import StressRuns
from qhub.stress.measure import Measurements
from qhub.stress.plan import resolve_plan
from tests.unit.stress.conftest import frozen_result

EVIL = "<script>alert(1)</script>"


def stored_run(*, seconds: int = 3) -> dict[str, Any]:
    """A stress run as ``qhub stress`` records it: two endpoints, failures in second 2."""
    m = Measurements(corrected=False)
    for second in range(1, seconds + 1):
        for i in range(20):
            m.request("GET /pets/{id}", 10.0 + i, 0.0, 200, None)
        m.request(f"GET /{EVIL}", 50.0, 0.0, 503 if second == 2 else 200, None)
        if second == 2:
            m.request("GET /pets/{id}", 5.0, 0.0, None, TimeoutError("slow"))
        m.tick(float(second))
    result = frozen_result(
        m,
        elapsed_s=float(seconds),
        stop_reason="duration",
        cpu_percent=5.0,
        users_started=2,
        run_id="stress-1",
        started_at="2026-01-02T10:00:00Z",
        plan=resolve_plan(StressSettings(), {"users": 2, "duration_s": float(seconds)}),
    )
    return json.loads(json.dumps(result.as_dict()))  # as stored: JSON, nothing else


SUMMARY = RunSummary(
    id="stress-1", seq=2, parts=1, kind=STRESS, status="failed", wall_ms=3000.0,
    finished_at="2026-01-02T10:00:03Z",
)  # fmt: skip
OLDER = dataclasses.replace(SUMMARY, id="stress-0", seq=1, status="passed")


@pytest.fixture
def report(make_observer: Any, fx: Any) -> Any:
    d = make_observer(**{"report.formats": ["json"]})
    d.start()
    scenario = fx.FakeScenario("one", "features/a.feature:3")
    d.begin("scenario", scenario)
    d.step(fx.FakeStep("a step", match=fx.definition("a", 9, pattern="a step")), 5)
    d.end("scenario", scenario)
    d.finish()
    return d.report


def html_with(report: Any, document: Any) -> str:
    stressed = dataclasses.replace(report, stress=StressRuns((SUMMARY, OLDER), document))
    return str(renderer("html")(stressed, RenderOptions()))


def island(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="qhub-data">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


class TestReader:
    def test_a_recorded_run_reads_back(self) -> None:
        view = read_stress(stored_run())
        assert (view.run_id, view.plan) == ("stress-1", "2 user(s) for 3 s, back to back")
        assert view.requests.label == "all requests" and view.requests.count == 64
        assert [(r.label, r.count, r.errors) for r in view.endpoints] == [
            ("GET /pets/{id}", 61, 1),
            (f"GET /{EVIL}", 3, 1),
        ]
        assert [p.requests for p in view.timeline] == [21, 22, 21]
        assert view.timeline[1].errors == (("HTTP 503", 1), ("TimeoutError", 1))

    def test_long_runs_are_capped(self) -> None:
        doc = stored_run()
        doc["timeline"] = [dict(doc["timeline"][0], t_s=float(i)) for i in range(3 * 600 + 1)]
        doc["endpoints"] = [doc["endpoints"][0]] * (MAX_ENDPOINTS + 5)
        view = read_stress(doc)
        assert len(view.timeline) <= MAX_TIMELINE_POINTS and view.timeline_stride == 4
        assert (len(view.endpoints), view.endpoints_total) == (MAX_ENDPOINTS, MAX_ENDPOINTS + 5)

    @pytest.mark.parametrize(
        ("path", "value", "why"),
        [
            ((), [], "the document is not an object"),
            (("kind",), "behave", "not a stress run"),
            (("endpoints",), {"a": 1}, "endpoints is not a list"),
            (("endpoints", 0), "row", "endpoints[0] is not an object"),
            (("endpoints", 0, "p95_ms"), "12", "endpoints[0].p95_ms is not a number"),
            (("endpoints", 0, "p95_ms"), True, "endpoints[0].p95_ms is not a number"),
            (("endpoints", 0, "p95_ms"), math.inf, "endpoints[0].p95_ms is not finite"),
            (("endpoints", 0, "count"), -1, "endpoints[0].count is not a count"),
            (("endpoints", 0, "count"), 2.5, "endpoints[0].count is not a count"),
            (("endpoints", 0, "label"), 7, "endpoints[0].label is not a text"),
            (("requests",), None, "requests is not an object"),
            (("timeline", 1, "errors"), ["HTTP 503"], "timeline[1].errors is not an object"),
            (("timeline", 1, "errors", EVIL), "x", "timeline[1].errors."),
            (("plan", "users"), "2", "plan.users is not a count"),
            (("corrected",), "no", "document.corrected is not true or false"),
            (("run_id",), None, "document.run_id is not a text"),
        ],
    )
    def test_wrong_types_name_the_field(self, path: tuple[Any, ...], value: Any, why: str) -> None:
        doc: Any = stored_run()
        if path:
            target = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        else:
            doc = value
        with pytest.raises(StressDocumentError) as raised:
            read_stress(doc)
        assert why in str(raised.value)


class TestSection:
    def test_the_section_shows_the_newest_run(self, report: Any) -> None:
        html = html_with(report, stored_run())
        section = html[html.index("<section id='stress'>") :]
        section = section[: section.index("</section>")]
        assert "<h2>Stress</h2>" in section
        rows = re.findall(r"<tr><td data-v='([^']*)'>", section.split("t-stress-runs")[0])
        assert rows == ["all requests", "get /pets/{id}", f"get /{EVIL.lower()}".replace(
            "<", "&lt;").replace(">", "&gt;")]  # fmt: skip
        assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
        assert "2 user(s) for 3 s, back to back" in section and "status failed" in section
        assert "id='chart-stress-latency'" in section and "id='chart-stress-errors'" in section
        assert "stress-0" in section  # the recent runs table
        data = island(html)["stress"]
        assert [p[1] for p in data["latency"]["p50"]] == [
            p.p50_ms for p in read_stress(stored_run()).timeline
        ]
        assert data["errors"] == {
            "HTTP 503": [[1.0, 0], [2.0, 1], [3.0, 0]],
            "TimeoutError": [[1.0, 0], [2.0, 1], [3.0, 0]],
        }

    def test_no_stress_runs_no_section(self, report: Any) -> None:
        html = str(renderer("html")(report, RenderOptions()))
        assert "id='stress'" not in html and island(html)["stress"] is None

    @pytest.mark.parametrize(
        "hostile",
        [
            None,
            "not even an object",
            {"kind": "stress", "run_id": EVIL},
            {**stored_run(), "endpoints": [{"label": EVIL, "count": "many"}]},
            {**stored_run(), "timeline": [{"t_s": "</script><script>alert(1)</script>"}]},
            {**stored_run(), "timeline": [{**stored_run()["timeline"][0], "errors": {EVIL: "x"}}]},
        ],
    )
    def test_a_hostile_document_is_a_note(self, report: Any, hostile: Any) -> None:
        html = html_with(report, copy.deepcopy(hostile))
        assert "id='stress'" in html
        assert "The newest stress run (stress-1) cannot be shown:" in html
        assert EVIL not in html and "alert(1)</script>" not in html
        assert island(html)["stress"] is None
        assert "stress-0" in html  # the runs list still shows

    def test_parts_of_a_section_without_a_readable_record(self, report: Any) -> None:
        stressed = dataclasses.replace(report, stress=StressRuns((SUMMARY,), None))
        html, data = stress_parts(stressed)
        assert "cannot be shown: no readable record." in html and data is None
