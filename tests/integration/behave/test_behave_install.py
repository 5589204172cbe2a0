"""Real behave runs: install() and the runner plugin compose with the user's own hooks."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.conftest import BEHAVE_HAS_RUNNER, BEHAVE_VERSION
from tests.integration.behave.conftest import SLOW, start_in_slow_step

pytestmark = pytest.mark.behave_matrix

USER_HOOKS = """
import os
QHUB = os.environ.get("USE_QHUB") == "1"
if QHUB:
    from qhub.behave import install

def log(text):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.log"), "a") as fh:
        fh.write(text + "\\n")

def before_all(context):
    if QHUB:
        install(context)
    log("before_all")

def before_feature(context, feature):
    log("before_feature " + feature.name)

def before_scenario(context, scenario):
    log("before_scenario " + scenario.name)
    if os.environ.get("FAIL_HOOK") == "before_scenario" and "bad" in scenario.tags:
        raise RuntimeError("boom in before_scenario")

def before_step(context, step):
    log("before_step " + step.name)

def after_step(context, step):
    log("after_step " + step.name + " " + step.status.name)
    if os.environ.get("FAIL_HOOK") == "after_step":
        raise ValueError("boom in after_step")

def after_scenario(context, scenario):
    log("after_scenario " + scenario.name + " " + scenario.status.name)

def after_feature(context, feature):
    log("after_feature " + feature.name)

def after_all(context):
    log("after_all")
    if os.environ.get("FAIL_HOOK") == "after_all":
        raise RuntimeError("boom in after_all")
"""


def summary(output: str) -> list[str]:
    """behave's summary lines (features/scenarios/steps counts), without timings."""
    keep = ("feature", "scenario", "step")
    return [
        line
        for line in output.splitlines()
        if line.split(" ")[0].isdigit() and any(k in line for k in keep)
    ]


def run_pair(project_factory, qhub_env, behave_run, extra_env: dict[str, str], *args: str):
    plain = project_factory(USER_HOOKS)
    with_qhub = project_factory(USER_HOOKS)
    a = behave_run(plain, *args, env={**qhub_env(plain), **extra_env})
    b = behave_run(with_qhub, *args, env={**qhub_env(with_qhub), **extra_env, "USE_QHUB": "1"})
    return plain, a, with_qhub, b


class TestHooksCompose:
    """The user's hooks run in the same order, and fail the same way, with qhub installed."""

    def test_same_hook_order_and_outcome(self, project_factory, qhub_env, behave_run) -> None:
        plain, a, qhub, b = run_pair(project_factory, qhub_env, behave_run, {})
        assert a.returncode == b.returncode == 0, b.output
        assert (plain / "hooks.log").read_text() == (qhub / "hooks.log").read_text()
        assert summary(a.stdout) == summary(b.stdout)
        assert "qhub: HTML report:" not in a.stdout
        # qhub's summary comes just before behave's own summary, so behave's failing
        # scenarios and totals stay the last lines of the run
        lines = b.stdout.rstrip().splitlines()
        assert lines[-1].startswith("Took ")
        report_line = next(i for i, ln in enumerate(lines) if ln.startswith("qhub: HTML report:"))
        totals = next(i for i, ln in enumerate(lines) if " passed, " in ln and "feature" in ln)
        assert report_line < totals

    @pytest.mark.parametrize(
        ("hook", "message"),
        [
            (
                "before_scenario",
                "HOOK-ERROR in before_scenario: RuntimeError: boom in before_scenario",
            ),
            ("after_step", "HOOK-ERROR in after_step: ValueError: boom in after_step"),
            ("after_all", "HOOK-ERROR in after_all: RuntimeError: boom in after_all"),
        ],
    )
    def test_hook_failures_surface_as_in_plain_behave(
        self, project_factory, qhub_env, behave_run, hook: str, message: str
    ) -> None:
        plain, a, qhub, b = run_pair(project_factory, qhub_env, behave_run, {"FAIL_HOOK": hook})
        assert a.returncode == b.returncode == 1
        assert message in a.output and message in b.output
        assert summary(a.stdout) == summary(b.stdout)
        assert (plain / "hooks.log").read_text() == (qhub / "hooks.log").read_text()
        # reports are flushed even when a hook fails (after_all included)
        assert list((qhub / "reports").glob("*.html")), b.output

    def test_step_failure_is_reported_unchanged(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        feature = (
            "Feature: F\n  Scenario: s\n    Given a step that passes\n"
            "    Then it fails an assertion\n"
        )
        plain = project_factory(USER_HOOKS, feature=feature)
        qhub = project_factory(USER_HOOKS, feature=feature)
        a = behave_run(plain, env=qhub_env(plain))
        b = behave_run(qhub, env={**qhub_env(qhub), "USE_QHUB": "1"})
        assert a.returncode == b.returncode == 1
        failure_a = [line for line in a.stdout.splitlines() if "one is not two" in line]
        failure_b = [line for line in b.stdout.splitlines() if "one is not two" in line]
        assert failure_a  # 1.3: "ASSERT FAILED: ...", 1.2.6: "Assertion Failed: ..."
        assert failure_a == failure_b
        assert summary(a.stdout) == summary(b.stdout)


@pytest.mark.skipif(not BEHAVE_HAS_RUNNER, reason=f"behave {BEHAVE_VERSION} has no --runner option")
class TestRunnerPlugin:
    """``--runner=qhub.behave:Runner`` turns qhub on without editing environment.py."""

    def test_runner_profiles_and_keeps_hooks(self, project_factory, qhub_env, behave_run) -> None:
        plain, _a, _, _ = run_pair(project_factory, qhub_env, behave_run, {})
        runner = project_factory(USER_HOOKS)
        c = behave_run(runner, "--runner=qhub.behave:Runner", env=qhub_env(runner))
        assert c.returncode == 0, c.output
        assert (plain / "hooks.log").read_text() == (runner / "hooks.log").read_text()
        assert "qhub: HTML report:" in c.stdout
        report = json.loads(next((runner / "reports").glob("*.json")).read_text())
        assert "sample_steps.py" in json.dumps(report)

    def test_runner_alias_from_behave_ini(self, project_factory, qhub_env, behave_run) -> None:
        project = project_factory(
            USER_HOOKS, files={"behave.ini": "[behave.runners]\nqhub = qhub.behave:Runner\n"}
        )
        result = behave_run(project, "--runner=qhub", env=qhub_env(project))
        assert result.returncode == 0, result.output
        assert "qhub: HTML report:" in result.stdout

    def test_runner_and_install_together_install_once(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(USER_HOOKS)
        result = behave_run(
            project, "--runner=qhub.behave:Runner", env={**qhub_env(project), "USE_QHUB": "1"}
        )
        assert result.returncode == 0, result.output
        assert result.stdout.count("qhub: HTML report:") == 1


BAD_CONFIG_CASES = [
    (
        {"args": ["-D", "qhub.cache.backend=nowhere"]},
        "qhub: error: cache.backend='nowhere' (from behave userdata -D qhub.cache.backend): "
        "must be one of memory, disk, redis, layered",
    ),
    (
        {"env": {"QHUB_API_READ_TIMEOUT": "-1"}},
        "qhub: error: api.read_timeout='-1' (from environment variable QHUB_API_READ_TIMEOUT): "
        "must be a number from 0.001 to 86400",
    ),
    (
        {"files": {"qhub.yaml": "profiling:\n  enabled: true\n  histroy_db: x.db\n"}},
        "qhub: error: unknown setting 'profiling.histroy_db' (from qhub.yaml:3); "
        "did you mean 'profiling.history_db'?",
    ),
    (
        {"files": {"pyproject.toml": "[tool.qhub.redis]\nport = 70000\n"}},
        "qhub: error: redis.port=70000 (from pyproject.toml:2): "
        "must be a whole number from 1 to 65535",
    ),
]


class TestBadConfig:
    """A bad value stops the run before any scenario, with one clear line."""

    @pytest.mark.parametrize(("case", "line"), BAD_CONFIG_CASES)
    def test_bad_config_stops_before_any_scenario(
        self, project_factory, qhub_env, behave_run, case: dict, line: str
    ) -> None:
        project = project_factory(USER_HOOKS, files=case.get("files"))
        env = {**qhub_env(project), **case.get("env", {}), "USE_QHUB": "1"}
        result = behave_run(project, *case.get("args", []), env=env)
        assert result.returncode != 0
        assert [ln for ln in result.stderr.splitlines() if ln.startswith("qhub:")] == [line]
        assert not (project / "ran.marker").exists()


class TestPrecedenceThroughBehave:
    """Each config layer overrides the one below it, seen from inside a real step."""

    @pytest.mark.parametrize(
        ("layers", "expected"),
        [
            ({}, "10|default"),
            ({"pyproject": 3}, "3|pyproject.toml:2"),
            ({"pyproject": 3, "yaml": 4}, "4|qhub.yaml:2"),
            ({"pyproject": 3, "yaml": 4, "env": 5}, "5|environment variable QHUB_REPORT_TOP"),
            ({"yaml": 4, "env": 5, "userdata": 6}, "6|behave userdata -D qhub.report.top"),
        ],
    )
    def test_layer_wins(self, project_factory, qhub_env, behave_run, layers, expected) -> None:
        files = {}
        if "pyproject" in layers:
            files["pyproject.toml"] = f"[tool.qhub.report]\ntop = {layers['pyproject']}\n"
        if "yaml" in layers:
            files["qhub.yaml"] = f"report:\n  top: {layers['yaml']}\n"
        project = project_factory(USER_HOOKS, files=files)
        env = {**qhub_env(project), "USE_QHUB": "1"}
        if "env" in layers:
            env["QHUB_REPORT_TOP"] = str(layers["env"])
        args = ["-D", f"qhub.report.top={layers['userdata']}"] if "userdata" in layers else []
        result = behave_run(project, *args, env=env)
        assert result.returncode == 0, result.output
        assert (project / "setting.txt").read_text() == expected


class TestInterrupt:
    """Ctrl-C mid-step still flushes reports and closes the session."""

    def test_sigint_flushes_reports(self, project_factory, qhub_env) -> None:
        env_py = (
            USER_HOOKS
            + """
import atexit, json
_ctx = {}
_orig_before_all = before_all
def before_all(context):
    _orig_before_all(context)
    _ctx["c"] = context
def _record():
    session = _ctx["c"].qhub
    with open("closed.json", "w") as fh:
        json.dump({"closed": session.closed}, fh)
atexit.register(_record)
"""
        )
        project = project_factory(env_py, feature=SLOW)
        env = {**os.environ, **qhub_env(project), "USE_QHUB": "1"}
        proc = start_in_slow_step(project, env)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "ABORTED" in out + err
        assert "qhub: HTML report:" in out
        report = json.loads((project / "reports" / "qhub-report.json").read_text())
        assert report["run"]["status"] == "interrupted"
        assert json.loads((project / "closed.json").read_text()) == {"closed": True}
        assert (project / "hooks.log").read_text().splitlines()[-1] == "after_all"


def test_example_suite_passes(behave_run, qhub_env, tmp_path: Path) -> None:
    """`behave` at the repository root runs the example suite green."""
    repo = Path(__file__).resolve().parents[3]
    result = behave_run(repo, env=qhub_env(tmp_path))
    assert result.returncode == 0, result.output
    assert "15 scenarios passed, 0 failed" in result.stdout
    assert "qhub: HTML report:" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("Took ")


@pytest.mark.parametrize(
    ("method", "signature"),
    [("on_end", "self, kind, target, ns"), ("on_step_end", "self, target, ns")],
    ids=["scenario-path", "step-hot-path"],
)
def test_internal_profiler_error_never_fails_the_run(
    method, signature, project_factory, qhub_env, behave_run
):
    """A bug in qhub's bookkeeping, on the scenario path or the per-step hot path, stops
    profiling with one warning; the run stays green."""
    env_py = f'''
from qhub.behave import install
from qhub.profiling.observer import BehaveObserver


def broken({signature}):
    raise RuntimeError("bookkeeping bug")


BehaveObserver.{method} = broken


def before_all(context):
    install(context)
'''
    project = project_factory(env_py)
    result = behave_run(project, env=qhub_env(project))
    assert result.returncode == 0, result.output
    assert "2 scenarios passed, 0 failed" in result.stdout
    warning = ("qhub: warning: profiling stopped for this run after an internal error: "
               "RuntimeError: bookkeeping bug")
    assert result.stderr.count(warning) == 1
