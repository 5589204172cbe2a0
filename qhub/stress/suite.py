"""Loading a behave suite for a stress run: behave's own loader, qhub installed first.

behave's :class:`~behave.runner.Runner` finds the base folder, loads ``environment.py`` and
the step modules and selects the feature files exactly as a normal run does (tags, names,
paths, ``behave.ini``). Instead of running the features once, :class:`SuiteRunner` hands
the loaded suite to a callback between ``before_all`` and ``after_all``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from behave.runner import Context, Runner
from behave.runner_util import parse_features

from qhub.exceptions import StressError

T = TypeVar("T")

NO_CAPTURE = ("--no-capture", "--no-capture-stderr", "--no-logcapture")
"""Options every stress run adds: behave's capture swaps the process-wide ``sys.stdout``."""

_MAX_LISTED = 3


def behave_config(args: list[str]) -> Any:
    """behave's ``Configuration`` for ``args`` (plus :data:`NO_CAPTURE`); a bad option is a
    :class:`StressError` with behave's own message."""
    import contextlib
    import io

    from behave.configuration import Configuration

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return Configuration(command_args=[*args, *NO_CAPTURE])
    except SystemExit:
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        detail = lines[-1] if lines else "invalid arguments"
        raise StressError(f"behave arguments: {detail}") from None


def run_hook(runner: Any, name: str) -> bool:
    """Run ``before_all``/``after_all`` the way this behave version does; True if it passed."""
    failures = runner.hook_failures
    if hasattr(runner, "run_hook_with_capture"):  # behave 1.2.7 / 1.3
        if name == "after_all":
            runner.run_hook_with_capture(name)
        else:
            runner.run_hook(name)
    else:  # behave 1.2.6
        runner.run_hook(name, runner.context)
    return runner.hook_failures == failures and not (name == "before_all" and runner.aborted)


def do_cleanups(context: Any) -> None:
    """behave's end-of-run context clean-ups (``context.add_cleanup`` in ``before_all``)."""
    if hasattr(type(context), "_do_remaining_cleanups"):
        context._do_remaining_cleanups()
    else:  # behave 1.2.6 (its Context answers unknown attributes with a KeyError)
        context._do_cleanups()


class SuiteRunner(Runner, Generic[T]):  # type: ignore[misc]
    """behave's runner that loads the suite and then calls ``body(runner, locations)``."""

    def __init__(self, config: Any, body: Callable[[SuiteRunner[T], list[Any]], T]) -> None:
        super().__init__(config)
        self._body = body
        self.result: T | None = None

    def run_with_paths(self) -> bool:
        self.context = Context(self)
        self.load_hooks()
        self.load_step_definitions()
        locations = [loc for loc in self.feature_locations() if not self.config.exclude(loc)]
        features = parse_features(locations, language=self.config.lang)
        registry: Any = getattr(self, "step_registry", None)
        if registry is None:
            from behave.runner import the_step_registry

            registry = self.step_registry = the_step_registry
        check_selection(features, self.config, registry)
        self.result = self._body(self, locations)
        return False


def check_selection(features: list[Any], config: Any, registry: Any) -> int:
    """The number of scenarios the arguments select; refuses none, and undefined steps."""
    selected = 0
    undefined: list[str] = []
    for feature in features:
        if not feature.should_run(config):
            continue
        for scenario in feature.walk_scenarios():
            if not scenario.should_run(config):
                continue
            selected += 1
            for step in getattr(scenario, "all_steps", scenario.steps):
                if registry.find_match(step) is None:
                    undefined.append(f"{step.location}: {step.keyword} {step.name}")
    if not selected:
        raise StressError(
            "no scenario selected: check the paths, --tags and --name given to behave"
        )
    if undefined:
        more = f" (and {len(undefined) - _MAX_LISTED} more)" if len(undefined) > _MAX_LISTED else ""
        raise StressError(
            f"undefined steps, so the load would only fail: {'; '.join(undefined[:_MAX_LISTED])}"
            f"{more}"
        )
    return selected


def load_and_run(config: Any, body: Callable[[SuiteRunner[T], list[Any]], T]) -> T:
    """Load the suite behave would run for its ``config`` and return ``body``'s result."""
    from behave.runner_util import reset_runtime

    reset_runtime()
    runner: SuiteRunner[T] = SuiteRunner(config, body)
    try:
        runner.run()
    except StressError:
        raise
    except Exception as exc:
        name = type(exc).__name__
        if name in ("ConfigError", "ParserError", "FileNotFoundError", "InvalidFileLocationError"):
            raise StressError(f"behave could not load the suite: {name}: {exc}") from None
        raise
    assert runner.result is not None
    return runner.result


def install_overrides(config: Any, users: int) -> dict[str, Any]:
    """Settings a stress run gives qhub: profiling of single steps off (the stress run
    measures), connection pools as big as the users, warm-up no bigger than the users."""
    overrides: dict[str, Any] = {
        "profiling.enabled": False,
        "api.pool_maxsize": max(config.api.pool_maxsize, users),
        "api.warmup_connections": min(config.api.warmup_connections, users),
    }
    for name, settings in config.apis.items():
        overrides[f"apis.{name}.pool_maxsize"] = max(settings.pool_maxsize, users)
        overrides[f"apis.{name}.warmup_connections"] = min(settings.warmup_connections, users)
    return overrides


def base_urls(config: Any) -> list[str]:
    """Every configured API base URL (the hosts a stress run may load)."""
    urls = [config.api.base_url] if config.api.base_url else []
    urls += [s.base_url for s in config.apis.values() if s.base_url]
    return urls
