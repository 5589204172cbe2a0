"""``qhub check --stress``: the CI gate for load tests.

Compares the newest stress run in the run history (or ``--run ID``) with the stress run
before it (or ``--baseline-run ID``) by :func:`qhub.stress.compare.compare_with_settings`:
the thresholds normal runs are judged by, ``--threshold`` and ``--threshold-ms`` overriding
them as they do for ``qhub check``. Prints the lines ``qhub stress`` prints for its own
comparison. Exit 1 on a regression (:class:`~qhub.exceptions.PerformanceRegression`, as
``qhub check`` raises it), 0 otherwise, 2 when there is nothing to compare (no or one
stress run, a different load, an unreadable stored run): one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from qhub.exceptions import PerformanceRegression, ProfilerError, UsageError

if TYPE_CHECKING:
    from qhub.config import QHubConfig
    from qhub.profiling.history import RunHistory
    from qhub.stress.compare import StressComparison

_NOT_WITH_STRESS = (
    ("fail_on", "--fail-on"),
    ("group", "--group"),
    ("last", "--last"),
    ("fail_on_budget", "--fail-on-budget"),
    ("fail_on_leak", "--fail-on-leak"),
    ("junit_xml", "--junit-xml"),
)


def refuse_other_options(args: argparse.Namespace) -> None:
    """Options of the normal gate that mean nothing for stress runs: a usage error."""
    given = [
        flag for name, flag in _NOT_WITH_STRESS if getattr(args, name, None) not in (None, False)
    ]
    if given:
        raise UsageError(f"qhub check --stress: {', '.join(given)} cannot be used with --stress")


def run_stress_check(args: argparse.Namespace, config: QHubConfig) -> int:
    """The gate (see the module docstring); the exit code, or an exception for 1 and 2."""
    from qhub.profiling.history import open_history
    from qhub.stress.compare import compare_with_settings

    refuse_other_options(args)
    with open_history(config, readonly=True) as history:
        current_id, baseline_id = _pick(history, args.run, args.baseline_run)
        current = _document(history, current_id)
        baseline = _document(history, baseline_id)
    comparison = compare_with_settings(
        baseline,
        current,
        config.profiling,
        threshold_percent=args.threshold,
        noise_floor_ms=args.threshold_ms,
    )
    against = "stress run" if args.baseline_run else "previous stress run"
    fmt = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    sys.stdout.write(_render(fmt, current_id, comparison, against))
    _step_summary(current_id, comparison, against)
    if not comparison.comparable:
        raise ProfilerError(
            f"qhub check --stress: nothing to compare: stress runs {current_id} and "
            f"{baseline_id} are {comparison.reason}"
        )
    if comparison.regressions:
        raise PerformanceRegression(
            f"qhub check --stress failed: {len(comparison.regressions)} endpoint(s) slower"
            f" than stress run {baseline_id}"
        )
    return 0


def _pick(history: RunHistory, run: str | None, baseline: str | None) -> tuple[str, str]:
    """(current, baseline) stress run ids; :class:`ProfilerError` when there are not two."""
    from qhub.stress.history import stress_runs

    current = _stress_id(history, run) if run else _newest(history)
    if baseline:
        return current, _stress_id(history, baseline)
    runs = [r.id for r in stress_runs(history)]
    older = runs[runs.index(current) + 1 :] if current in runs else []
    if not older:
        raise ProfilerError(
            f"qhub check --stress: nothing to compare: no stress run before {current}"
            " (run qhub stress again, or name one with --baseline-run)"
        )
    return current, older[0]


def _newest(history: RunHistory) -> str:
    from qhub.stress.history import stress_runs

    runs = stress_runs(history, 1)
    if not runs:
        raise ProfilerError(
            f"qhub check --stress: no stress run recorded in {history.location} yet"
            " (run qhub stress)"
        )
    return runs[0].id


def _stress_id(history: RunHistory, run_id: str) -> str:
    from qhub.profiling.history import STRESS

    found = history.get_run(run_id)
    if found is None:
        raise ProfilerError(f"qhub check --stress: no run {run_id!r} in {history.location}")
    if found.kind != STRESS:
        raise ProfilerError(f"qhub check --stress: run {found.id} is not a stress run")
    return found.id


def _document(history: RunHistory, run_id: str) -> dict[str, Any]:
    from qhub.stress.history import load_document

    document = load_document(history, run_id)
    if document is None:
        raise ProfilerError(
            f"qhub check --stress: nothing to compare: stress run {run_id} cannot be read"
        )
    return document


def _render(fmt: str, current: str, comparison: StressComparison, against: str) -> str:
    from qhub.stress.compare import render_comparison

    if fmt == "json":
        return json.dumps({"run": current, **comparison.as_dict()}, indent=1) + "\n"
    if fmt == "markdown":
        return _markdown(current, comparison, against)
    text = f"qhub check --stress: stress run {current}\n" + "".join(
        f"  {line}\n" for line in render_comparison(comparison, against).splitlines()
    )
    if fmt == "github":
        text += _annotations(comparison, against)
    return text


def _annotations(comparison: StressComparison, against: str) -> str:
    from qhub.profiling.render.github_annotations import workflow_command
    from qhub.stress.compare import change_figures, render_comparison

    out = [
        workflow_command("error", f"{c.endpoint}: {change_figures(c)}", title="qhub: slower")
        for c in comparison.regressions
    ]
    verdict = render_comparison(comparison, against).splitlines()[0]
    level = "notice" if comparison.comparable else "warning"
    out.append(workflow_command(level, verdict, title="qhub: stress verdict"))
    return "\n".join(out) + "\n"


def _markdown(current: str, comparison: StressComparison, against: str) -> str:
    from qhub.profiling.render._fmt import md_cell
    from qhub.stress.compare import change_figures

    def cell(text: str) -> str:  # run ids, endpoints and reasons come from stored runs
        return md_cell(text, 200)

    lines = [f"### qhub stress check: {cell(current)} vs {against} {cell(comparison.baseline_run)}"]
    if not comparison.comparable:
        return "\n".join([*lines, "", f"Not compared: {cell(comparison.reason)}.", ""]) + "\n"
    lines += [
        "",
        f"{len(comparison.regressions)} slower, {len(comparison.improvements)} faster,"
        f" {comparison.unchanged} unchanged.",
    ]
    changes = comparison.regressions + comparison.improvements
    if changes:
        lines += ["", "| | endpoint | change |", "|---|---|---|"]
        lines += [
            f"| {c.direction} | {cell(c.endpoint)} | {change_figures(c)} |" for c in changes
        ]
    return "\n".join(lines) + "\n"


def _step_summary(current: str, comparison: StressComparison, against: str) -> None:
    """The Markdown verdict appended to ``$GITHUB_STEP_SUMMARY``, as ``qhub check`` does."""
    from qhub.cli._common import append_step_summary

    if os.environ.get("GITHUB_STEP_SUMMARY"):
        append_step_summary(_markdown(current, comparison, against))


__all__ = ["refuse_other_options", "run_stress_check"]
