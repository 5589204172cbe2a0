"""Renderers: one interface; escaping and bidi neutralising in every format; honest verdicts."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from qhub.profiling.render import FORMATS, RenderOptions, renderer, write_reports
from qhub.profiling.render.terminal_summary import render_summary

EVIL = '<script>alert(1)</script> | `x` " \\ \n\u202eevil\u2066 %0A::error::'
OPTIONS = RenderOptions()


@pytest.fixture
def report(make_observer: Any, fx: Any) -> Any:
    d = make_observer(**{"report.formats": ["json"], "profiling.budget_step_p95_ms": 1.0})
    d.start()
    scenario = fx.FakeScenario(EVIL, "features/a.feature:3", status="failed")
    d.begin("scenario", scenario)
    d.step(fx.FakeStep(EVIL, match=fx.definition("evil", 9, pattern=EVIL)), 5)
    d.end("scenario", scenario)
    d.finish()
    return d.report


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_raw_bidi_control_anywhere(report: Any, fmt: str) -> None:
    text = renderer(fmt)(report, OPTIONS)
    if fmt == "json":  # data, not display: escaped JSON strings keep the text as it was
        assert "\u202e" in json.loads(text)["scenarios"][0]["name"]
        return
    assert "\u202e" not in text and "\u2066" not in text
    assert "U+202E" in text


class TestHtml:
    """Self-contained, escaped, sortable and filterable tables."""

    def test_escaped_and_self_contained(self, report: Any) -> None:
        html = renderer("html")(report, OPTIONS)
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
        assert "style=" not in html.split("<script nonce")[0]  # strict CSP: no inline styles

    def test_tables_and_verdict(self, report: Any) -> None:
        html = renderer("html")(report, OPTIONS)
        assert "<table id='t-steps' class='sortable'>" in html
        assert "data-table='t-steps' placeholder='Filter step definitions and step texts" in html
        assert "<div class='v'>no baseline</div>" in html  # not a green 0
        assert "No baseline: nothing was compared." in html
        assert "Failed scenarios (1)" in html

    def test_pooled_is_labelled(self, report: Any) -> None:
        run = dataclasses.replace(report.record.run, pooled_runs=("a", "b"))
        pooled = dataclasses.replace(report, record=report.record.replace(run=run))
        html = renderer("html")(pooled, OPTIONS)
        assert "Pooled report: 2 runs" in html
        assert "(pooled)" in html.split("</title>")[0]


class TestMarkdown:
    """Short, table-safe."""

    def test_budget_and_escaping(self, report: Any) -> None:
        md = renderer("markdown")(report, OPTIONS)
        assert md.startswith(
            "### ⚪ qhub performance: no baseline: nothing compared, 1 budget violation(s)"
        )
        assert "<script>" not in md
        for line in md.splitlines():
            if line.startswith("| ") and "step_p95_ms" in line:
                assert line.count(" | ") == 3  # the pipe in the name is escaped
        assert "[qhub-report.html](qhub-report.html)" in md
        assert "| Failed scenario | Error |" in md


class TestPrometheus:
    """Exposition format with escaped labels and honest counts."""

    def test_labels_escaped(self, report: Any) -> None:
        text = renderer("prometheus")(report, OPTIONS)
        assert "# TYPE qhub_step_duration_seconds summary" in text
        line = next(
            ln for ln in text.splitlines() if ln.startswith("qhub_step_duration_seconds_count")
        )
        assert line.endswith(" 1")
        assert '\\"' in line and "\\n" in line
        for ln in text.splitlines():
            assert ln.startswith(("#", "qhub_"))
        assert "qhub_baseline_present 0" in text


class TestCiFormats:
    def test_junit_parses(self, report: Any) -> None:
        suite = ET.fromstring(renderer("junit")(report, OPTIONS))
        assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "1", "1")
        budget = suite.find("testcase[@classname='qhub.budget']")
        assert budget is not None and "\u202e" not in (budget.get("name") or "")

    def test_github_commands_cannot_be_injected(self, report: Any) -> None:
        text = renderer("github")(report, OPTIONS)
        lines = text.splitlines()
        assert all(line.startswith("::") for line in lines)
        assert not any(line.startswith("::error") for line in lines)  # no regression: no error
        warning = next(line for line in lines if line.startswith("::warning"))
        assert "%250A%3A%3Aerror%3A%3A" not in warning  # message text keeps its colons...
        assert "%250A::error::" in warning  # ...but its own %0A is escaped, not a newline


class TestTerminalSummary:
    def test_short_and_safe(self, report: Any) -> None:
        text = render_summary(report, RenderOptions(written=(Path("reports/qhub-report.html"),)))
        lines = text.splitlines()
        assert 5 <= len(lines) <= 15
        assert lines[0].startswith("qhub: run ") and " failed · 1 scenario (1 failed)" in lines[0]
        assert any(line.startswith("  time: ") for line in lines)
        assert "  regressions: no baseline: nothing compared" in text
        assert lines[-1] == "qhub: HTML report: reports/qhub-report.html"
        assert "\u202e" not in text and "\x1b" not in text
        assert all("\n" not in line for line in lines)

    def test_verbose_appends_the_full_report(self, report: Any) -> None:
        short = render_summary(report, OPTIONS)
        full = render_summary(report, RenderOptions(verbose=True))
        assert full.startswith(short)
        assert "Budgets: 1 violation" in full and "Failed scenarios:" in full


def test_text_report_sections(report: Any) -> None:
    text = renderer("text")(report, OPTIONS)
    assert "Where the time went" in text
    assert "Budgets: 1 violation" in text
    assert "step_p95_ms: 5.0 ms > 1.0 ms" in text


def test_unknown_format(tmp_path: Path, report: Any) -> None:
    from qhub.exceptions import ProfilerError

    with pytest.raises(ProfilerError, match="unknown report format 'pdf'"):
        write_reports(report, tmp_path, ["pdf"], OPTIONS)


def test_unwritable_format_warns_and_writes_the_rest(
    tmp_path: Path, report: Any, capfd: Any
) -> None:
    (tmp_path / "qhub-report.html").mkdir()  # a folder where the file goes
    written = write_reports(report, tmp_path, ["html", "json"], OPTIONS)
    assert [p.name for p in written] == ["qhub-report.json"]
    err = capfd.readouterr().err
    assert err.count("qhub: warning: cannot write") == 1
