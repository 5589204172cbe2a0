"""The suite to shard: behave's own selection, read without running any user code.

behave decides what a run selects; here behave decides too: its ``Configuration`` reads
the command-line selection and its config files (``behave.ini``, ``setup.cfg``,
``tox.ini``, ``.behaverc``, and ``pyproject.toml`` where the installed behave reads it),
its ``Runner.setup_paths`` finds the paths (``features`` and the steps folder, as
``behave`` with no path would), its parser reads the feature files, and each scenario's
``should_run(config)`` applies tags (``--tags``, v1 or v2 expressions), names
(``--name``), include/exclude patterns and ``file:line`` locations. Step modules,
``environment.py`` and hooks are never imported.

Every selected scenario is one *unit* (a row of a Scenario Outline is one; scenarios
inside a ``Rule`` are too). A feature file holding a selected ``@setup``/``@teardown``
scenario stays whole: behave runs those in every run that selects any location of the
file, so splitting it would run them more than once.
"""

from __future__ import annotations

import os
from typing import Any

from qhub._record import frozen_record
from qhub.exceptions import ProfilerError

_WHOLE_TAGS = ("setup", "teardown")


@frozen_record
class Scenario:
    """One selected scenario: its identity (as the profiler records it) and location."""

    key: str
    file: str
    line: int
    feature_key: str


@frozen_record
class FeatureFile:
    """One feature file with its selected scenarios (in file order)."""

    file: str
    """As behave should be given it (relative to the current folder where possible)."""
    key: str
    """The file as the profiler's identities name it (normalized)."""
    scenarios: tuple[Scenario, ...]
    complete: bool
    """Every scenario of the file is selected (so the bare file selects exactly them)."""
    keep_whole: bool
    """Holds a selected @setup/@teardown scenario: never split."""


@frozen_record
class Suite:
    features: tuple[FeatureFile, ...]

    @property
    def scenarios(self) -> int:
        return sum(len(f.scenarios) for f in self.features)


def normalize_file(path: str, cwd: str | None = None) -> str:
    """A feature file path as one spelling: relative to ``cwd`` when inside it, ``/``."""
    here = cwd or os.getcwd()
    full = os.path.normpath(path if os.path.isabs(path) else os.path.join(here, path))
    rel = os.path.relpath(full, here)
    shown = full if rel.startswith("..") else rel
    return shown.replace(os.sep, "/")


def normalize_key(key: str, cwd: str | None = None) -> str:
    """A recorded identity (``file::rest``) with its file part normalized."""
    file, sep, rest = key.partition("::")
    return normalize_file(file, cwd) + sep + rest


def collect(behave_args: list[str]) -> Suite:
    """The scenarios ``behave <behave_args>`` would select here (see the module docstring)."""
    from behave.configuration import Configuration
    from behave.runner import Runner
    from behave.runner_util import parse_features

    from qhub.profiling.behave_model import scenario_identity, walk_scenarios

    try:
        config = Configuration(command_args=list(behave_args), load_config=True)
    except SystemExit as exc:  # argparse inside behave: it printed why
        raise ProfilerError(f"behave rejected the selection arguments (exit {exc.code})") from None
    runner = Runner(config)
    try:
        runner.setup_paths()
        locations = [loc for loc in runner.feature_locations() if not config.exclude(loc)]
        features = parse_features(locations, language=getattr(config, "lang", None))
    except Exception as exc:  # behave's own errors: missing steps folder, parser errors...
        raise ProfilerError(f"behave cannot read the suite: {type(exc).__name__}: {exc}") from None
    out = []
    for feature in features:
        every = list(walk_scenarios(feature))
        chosen = [s for s in every if _should_run(s, config)]
        if not chosen:
            continue
        file = normalize_file(str(feature.filename))
        scenarios = tuple(
            Scenario(normalize_key(scenario_identity(s).key), file, int(s.line), file)
            for s in chosen
        )
        whole = any(set(_tags(s)) & set(_WHOLE_TAGS) for s in chosen)
        out.append(FeatureFile(file, file, scenarios, len(chosen) == len(every), whole))
    return Suite(tuple(out))


def _should_run(scenario: Any, config: Any) -> bool:
    try:
        return bool(scenario.should_run(config))
    except TypeError:  # a behave whose should_run takes no config: tags as 1.2.6 does
        return bool(scenario.should_run_with_tags(config.tags))


def _tags(scenario: Any) -> list[str]:
    """The scenario's own tags: what behave's location filter looks at for @setup."""
    return [str(t) for t in getattr(scenario, "tags", None) or ()]
