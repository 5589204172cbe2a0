"""Renderers: escaping in HTML, Markdown and Prometheus; the JSON island."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from qhub.profiling.render import renderer

EVIL = '<script>alert(1)</script> | `x` " \\ \n'


@pytest.fixture
def report(make_observer: Any, fx: Any) -> dict[str, Any]:
    d = make_observer(**{"report.formats": ["json"], "profiling.budget_step_p95_ms": 1.0})
    d.start()
    scenario = fx.FakeScenario(EVIL, "features/a.feature:3")
    d.begin("scenario", scenario)
    d.step(fx.FakeStep(EVIL, match=fx.definition("evil", 9, pattern=EVIL)), 5)
    d.end("scenario", scenario)
    d.finish()
    return json.loads(d.obs.config.path("reports/qhub-report.json").read_text())  # type: ignore[no-any-return]


class TestHtml:
    """Self-contained, escaped."""

    def test_escaped_and_self_contained(self, report: dict[str, Any]) -> None:
        html = renderer("html")(report)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        island = re.search(
            r'<script type="application/json" id="qhub-data">(.*?)</script>', html, re.S
        )
        assert island is not None
        assert "</" not in island.group(1)
        data = json.loads(island.group(1))
        assert data["bars"][0]["label"].startswith("<script>alert(1)</script>")
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in html
        assert "Content-Security-Policy" in html


class TestMarkdown:
    """Short, table-safe."""

    def test_budget_and_escaping(self, report: dict[str, Any]) -> None:
        md = renderer("markdown")(report)
        assert md.startswith("### ❌ qhub performance: 0 regression(s), 1 budget violation(s)")
        assert "<script>" not in md
        for line in md.splitlines():
            if line.startswith("| ") and "step_p95_ms" in line:
                assert line.count(" | ") == 3  # the pipe in the name is escaped
        assert "[qhub-report.html](qhub-report.html)" in md


class TestPrometheus:
    """Exposition format with escaped labels."""

    def test_labels_escaped(self, report: dict[str, Any]) -> None:
        text = renderer("prometheus")(report)
        assert "# TYPE qhub_step_duration_seconds summary" in text
        line = next(
            ln for ln in text.splitlines() if ln.startswith("qhub_step_duration_seconds_count")
        )
        assert line.endswith(" 1")
        assert '\\"' in line and "\\n" in line
        for ln in text.splitlines():
            assert ln.startswith(("#", "qhub_"))


def test_text_summary_sections(report: dict[str, Any]) -> None:
    text = renderer("text")(report)
    assert "Where the time went" in text
    assert "Budgets: 1 violation(s)" in text
    assert "step_p95_ms: 5.0 ms > 1.0 ms" in text


def test_unknown_format(tmp_path: Path, report: dict[str, Any]) -> None:
    from qhub.exceptions import ProfilerError
    from qhub.profiling.reports import write_reports

    with pytest.raises(ProfilerError, match="unknown report format 'pdf'"):
        write_reports(report, tmp_path, ["pdf"])
