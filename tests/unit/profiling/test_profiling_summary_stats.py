"""Test-data metrics and API latency budgets in the terminal summary and the reports."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from qhub.profiling.merge import merge_records
from qhub.profiling.render import RenderOptions, renderer
from qhub.profiling.render.text_report import render as render_text

OPTIONS = RenderOptions()

STATS = {
    "data": {
        "hits": 12, "misses": 3, "hit_rate_percent": 80.0, "data_generation_time": 1.2,
        "data_retrieval_time": 0.004, "records_generated": 150, "records_served": 170,
        "faker_calls": 0, "faker_instances": 0,
    },
    "api_budgets": {
        "default": [
            {"endpoint": "GET /pets", "budget_ms": 100.0, "p95_ms": 120.5, "count": 9,
             "passed": False},
            {"endpoint": "POST /orders", "budget_ms": 50.0, "p95_ms": 20.0, "count": 3,
             "passed": True},
            {"endpoint": "<b>/never</b>", "budget_ms": 10.0, "p95_ms": None, "count": 0,
             "passed": None},
        ]
    },
}  # fmt: skip


@pytest.fixture
def report(make_observer: Any, fx: Any) -> Any:
    d = make_observer()
    d.start()
    d.step(fx.FakeStep("x", match=fx.definition("x", 1)), 2)
    d.hook("after_all", None)
    d.obs.finish(copy.deepcopy(STATS))
    return d.report


DATA_LINE = (
    "test data: 12 hits / 3 misses (80.0%), 150 records generated, 0 Faker calls,"
    " generation 1.20 s vs retrieval 4.0 ms"
)


def test_text_report(report: Any) -> None:
    lines = render_text(report, OPTIONS).splitlines()
    assert DATA_LINE in lines
    start = lines.index("API latency budgets: 1 passed, 1 failed, 1 without requests")
    assert lines[start + 1 : start + 4] == [
        "  FAIL        default GET /pets: p95 120.5 ms (budget 100.0 ms)",
        "  pass        default POST /orders: p95 20.0 ms (budget 50.0 ms)",
        "  no requests default <b>/never</b>: p95 - (budget 10.0 ms)",
    ]


def test_markdown_and_html(report: Any) -> None:
    md = renderer("markdown")(report, OPTIONS)
    assert "T" + DATA_LINE[1:] in md
    assert "| default GET /pets | 120.5 | 100.0 | FAIL |" in md
    assert "| default &lt;b&gt;/never&lt;/b&gt; | - | 10.0 | no requests |" in md
    html = renderer("html")(report, OPTIONS)
    assert "T" + DATA_LINE[1:] in html
    assert "<h3>API latency budgets</h3>" in html
    assert "&lt;b&gt;/never&lt;/b&gt;" in html and "<b>/never</b>" not in html
    assert "<span class='bad'>FAIL</span>" in html


def test_merged_workers_add_up(report: Any) -> None:
    record = report.record
    one = record.replace(run=dataclasses.replace(record.run, part="p1", worker_id="w1"))
    two = record.replace(run=dataclasses.replace(record.run, part="p2", worker_id="w2"))
    merged = dataclasses.replace(report, record=merge_records([one, two]))
    text = render_text(merged, OPTIONS)
    assert (
        "test data: 24 hits / 6 misses (80.0%), 300 records generated, 0 Faker calls,"
        " generation 2.40 s vs retrieval 8.0 ms"
    ) in text.splitlines()
    assert "API latency budgets: 2 passed, 2 failed, 2 without requests" in text
