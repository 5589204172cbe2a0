"""``qhub check --stress`` Markdown (stdout and the job summary): what comes from stored
stress runs is one safe line per cell, as in the main Markdown report."""

from __future__ import annotations

from pathlib import Path

import pytest

from qhub.cli.check_stress import _markdown, _step_summary
from qhub.stress.compare import StressChange, StressComparison

EVIL = "GET /<img src=x onerror=alert(1)>|`x`\n# injected"


def comparison(*, comparable: bool = True) -> StressComparison:
    change = StressChange(
        endpoint=EVIL, direction="slower", stat="p95", baseline_ms=10.0, current_ms=61.2,
        change_percent=512.0, p_value=1e-9, baseline_count=40, current_count=40,
    )  # fmt: skip
    return StressComparison(
        baseline_run="base<b>", comparable=comparable,
        reason="users 2 -> <script>4</script>" if not comparable else "",
        regressions=[change], improvements=[], unchanged=0, too_few_samples=[],
    )  # fmt: skip


def test_hostile_stored_text_is_neutralised() -> None:
    text = _markdown("run|1", comparison(), "previous stress run")
    assert "<img" not in text and "<b>" not in text and "`x`" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;\\|'x'" in text
    assert "\n# injected" not in text  # the newline does not start a heading
    assert "run\\|1" in text
    assert "p95 10 -> 61.2 ms (+512.0%, p=1e-09, n=40/40)" in text  # qhub's own figures


def test_not_comparable_reason_is_neutralised() -> None:
    text = _markdown("r", comparison(comparable=False), "previous stress run")
    assert "<script>" not in text and "&lt;script&gt;4&lt;/script&gt;" in text


def test_step_summary_appends_the_same_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _step_summary("r", comparison(), "previous stress run")
    expected = _markdown("r", comparison(), "previous stress run")
    assert summary.read_text() == "earlier step\n" + expected + "\n"
