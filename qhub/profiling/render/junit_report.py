"""JUnit XML for CI test-report views: one test case per compared item.

A regression or a budget violation is a ``<failure>``; an item that could not be compared
(new, gone, too few samples) is ``<skipped>`` with the reason, so the counts stay honest
in the CI's test view too. No baseline: one skipped case that says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from qhub.profiling._clean import clean
from qhub.profiling.render._fmt import KIND_LABELS, change_text
from qhub.profiling.render.base import RenderOptions

if TYPE_CHECKING:
    from qhub.profiling.reporting import Report

_XML_BAD = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}


def _attr(text: object) -> str:
    return quoteattr(clean(str(text)).translate(_XML_BAD))


def render(report: Report, options: RenderOptions) -> str:
    verdict = report.verdict
    cases: list[str] = []
    failures = skipped = 0
    if verdict.baseline is None:
        skipped += 1
        cases.append(
            '<testcase classname="qhub.performance" name="baseline">'
            '<skipped message="no baseline: nothing compared (qhub baseline set)"/></testcase>'
        )
    for c in verdict.comparisons:
        classname = f"qhub.performance.{KIND_LABELS.get(c.kind, c.kind)}"
        head = (
            f"<testcase classname={_attr(classname)} name={_attr(c.name)} file={_attr(c.location)}>"
        )
        if c.verdict == "regression":
            failures += 1
            message = f"slower: {change_text(c)} ({c.method}); {c.reason}"
            cases.append(f'{head}<failure message={_attr(message)} type="regression"/></testcase>')
        elif not c.compared:
            skipped += 1
            cases.append(
                f"{head}<skipped message={_attr(c.verdict + ': ' + c.reason)}/></testcase>"
            )
        else:
            cases.append(f"{head}</testcase>")
    for v in verdict.budgets.violations:
        failures += 1
        message = f"{v.budget}: {v.value:.1f} {v.unit} > {v.limit:.1f} {v.unit}"
        cases.append(
            f'<testcase classname="qhub.budget" name={_attr(v.name)} file={_attr(v.location)}>'
            f'<failure message={_attr(message)} type="budget"/></testcase>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="qhub performance" tests="{len(cases)}" failures="{failures}"'
        f' skipped="{skipped}" errors="0">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
