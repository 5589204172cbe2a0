"""Real behave runs: where qhub's summary goes, what set-up costs, what it leaves alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.integration.behave.conftest import SLOW, start_in_slow_step

pytestmark = pytest.mark.behave_matrix

INSTALL = """
from qhub.behave import install

def before_all(context):
    install(context)
"""

FAILING = (
    "Feature: F\n  Scenario: good\n    Given a step that passes\n"
    "  Scenario: bad\n    Then it fails an assertion\n"
)


def _without_behave_banner(stdout: str) -> str:
    """behave 1.3 itself prints "USING RUNNER: ..." on stdout, even with ``-o -``."""
    return "\n".join(ln for ln in stdout.splitlines() if not ln.startswith("USING RUNNER:"))


class TestSummaryPlacement:
    """qhub's summary never corrupts machine-readable stdout and never buries failures."""

    @pytest.mark.parametrize("fmt", ["json", "json.pretty"])
    def test_json_to_stdout_stays_valid_json(
        self, fmt: str, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(INSTALL)
        args = ("-f", fmt, "-o", "-", "--no-summary")
        result = behave_run(project, *args, env=qhub_env(project))
        assert result.returncode == 0, result.output
        document = json.loads(_without_behave_banner(result.stdout))
        assert document[0]["name"] == "Sample"
        assert "qhub" not in result.stdout
        assert "qhub: HTML report:" in result.stderr
        plain = project_factory("")
        baseline = behave_run(plain, *args, env=qhub_env(plain))
        assert len(result.stdout.splitlines()) == len(baseline.stdout.splitlines())

    def test_json_to_file_keeps_summary_on_stdout(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(INSTALL)
        result = behave_run(
            project, "-f", "json", "-o", "out.json", "-f", "progress", env=qhub_env(project)
        )
        assert result.returncode == 0, result.output
        json.loads((project / "out.json").read_text())
        assert "qhub: HTML report:" in result.stdout

    def test_failing_scenarios_are_the_last_thing_said(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(INSTALL, feature=FAILING)
        result = behave_run(project, "-f", "plain", env=qhub_env(project))
        assert result.returncode == 1
        lines = result.stdout.rstrip().splitlines()
        qhub_last = max(i for i, ln in enumerate(lines) if ln.startswith("qhub"))
        failing = next(i for i, ln in enumerate(lines) if ln.startswith("Failing scenarios:"))
        assert qhub_last < failing
        assert lines[-1].startswith("Took ")


class TestLazyTools:
    """Tools a run never touches are never built; set-up is config and profiler only."""

    def test_untouched_cache_is_never_opened(self, project_factory, qhub_env, behave_run) -> None:
        project = project_factory(INSTALL)
        result = behave_run(project, env=qhub_env(project))
        assert result.returncode == 0, result.output
        assert not (project / ".qhub" / "cache.db").exists()
        report = json.loads((project / "reports" / "qhub-report.json").read_text())
        assert "cache" not in json.dumps(report.get("stats", {}))

    def test_cache_built_on_first_use(self, project_factory, qhub_env, behave_run) -> None:
        steps_extra = '''

@given("the cache holds {value}")
def step_cache(context, value):
    context.cache.set("k", value)
    assert context.cache.get("k") == value
    assert context.cache is context.cache
'''
        from tests.integration.behave.conftest import STEPS

        feature = "Feature: F\n  Scenario: s\n    Given the cache holds 42\n"
        project = project_factory(INSTALL, feature=feature, steps=STEPS + steps_extra)
        result = behave_run(project, env=qhub_env(project))
        assert result.returncode == 0, result.output
        assert (project / ".qhub" / "cache.db").exists()

    def test_user_can_replace_a_tool(self, project_factory, qhub_env, behave_run) -> None:
        env_py = INSTALL + "    context.cache = 'mine'\n"
        steps_extra = '''

@given("my own cache is kept")
def step_mine(context):
    assert context.cache == "mine"
'''
        from tests.integration.behave.conftest import STEPS

        feature = "Feature: F\n  Scenario: s\n    Given my own cache is kept\n"
        project = project_factory(env_py, feature=feature, steps=STEPS + steps_extra)
        result = behave_run(project, env=qhub_env(project))
        assert result.returncode == 0, result.output
        assert not (project / ".qhub" / "cache.db").exists()


class TestOtherToolsVariables:
    """An unprefixed variable meant for another tool no longer stops the suite."""

    def test_django_cache_backend_is_ignored_with_one_line(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(INSTALL)
        env = {
            **qhub_env(project),
            "CACHE_BACKEND": "django.core.cache.backends.redis.RedisCache",
        }
        result = behave_run(project, env=env)
        assert result.returncode == 0, result.output
        warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("qhub: warning")]
        assert warnings == [
            "qhub: warning: ignored cache.backend='django.core.cache.backends.redis.RedisCache'"
            " (from environment variable CACHE_BACKEND): must be one of memory, disk, redis,"
            " layered; set QHUB_CACHE_BACKEND to configure qhub"
        ]
        assert "note: settings from unprefixed" not in result.output  # ignored: not taken

    def test_a_taken_unprefixed_variable_is_named_in_the_summary(
        self, project_factory, qhub_env, behave_run
    ) -> None:
        project = project_factory(INSTALL)
        env = {**qhub_env(project), "REDIS_URL": "redis://:app-secret@127.0.0.1:1/3"}
        result = behave_run(project, env=env)
        assert result.returncode == 0, result.output
        notes = [ln.strip() for ln in result.output.splitlines() if "note: settings" in ln]
        assert notes == [
            "note: settings from unprefixed environment variables: redis.url from REDIS_URL"
            " (QHUB_<same name> overrides)"
        ]
        assert "app-secret" not in result.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_termination_signal_records_the_run_and_writes_reports(
    sig: signal.Signals, project_factory, qhub_env
) -> None:
    """What CI sends on cancel: the run is recorded as ended by that signal, reports
    written, after_all ran, and the process still ends killed by the signal."""
    from tests.integration.behave.test_behave_install import USER_HOOKS

    project = project_factory(USER_HOOKS, feature=SLOW)
    env = {**os.environ, **qhub_env(project), "USE_QHUB": "1"}
    proc = start_in_slow_step(project, env)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -sig, (proc.returncode, out, err)
    assert "qhub: HTML report:" in out + err
    report = json.loads((project / "reports" / "qhub-report.json").read_text())
    assert report["run"]["status"] == sig.name.lower()
    assert (project / "hooks.log").read_text().splitlines()[-1] == "after_all"


def test_user_signal_handler_is_left_alone(project_factory, qhub_env) -> None:
    """A suite that handles SIGTERM itself keeps its handler."""
    env_py = INSTALL + (
        "    import signal\n"
        "    signal.signal(signal.SIGTERM, lambda *a: open('mine.marker', 'w').close())\n"
    )
    feature = "Feature: F\n  Scenario: s\n    Given a step that passes\n"
    project = project_factory(env_py, feature=feature)
    env = {**os.environ, **qhub_env(project)}
    code = (
        "import signal, sys\n"
        "from behave.__main__ import main\n"
        "rc = main(['--no-color'])\n"
        "handler = signal.getsignal(signal.SIGTERM)\n"
        "print('HANDLER', getattr(handler, '__name__', handler))\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HANDLER <lambda>" in proc.stdout
