"""``import qhub`` stays cheap: no heavy dependency is imported until it is used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("redis", "faker", "requests", "psutil", "yaml", "urllib3", "jsonschema", "orjson")


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


@pytest.mark.parametrize(
    "statement",
    ["import qhub", "import qhub.config", "from qhub import QHubError, ConfigError, __version__"],
)
def test_no_heavy_dependency_at_import(statement: str) -> None:
    loaded = modules_after(statement)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_public_names_resolve_lazily() -> None:
    loaded = modules_after("import qhub\nqhub.load_config")
    assert "qhub" in loaded
    assert "yaml" not in loaded  # load_config itself does not need yaml until a YAML file


def test_all_public_names_are_importable() -> None:
    import qhub

    missing = [name for name in qhub.__all__ if not hasattr(qhub, name)]
    assert missing == []


def test_importtime_shows_only_qhub_modules() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import qhub"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if "|" in line
    }
    assert "qhub" in names
    assert names.isdisjoint(HEAVY)


def test_end_of_run_code_loads_only_what_a_plain_run_uses() -> None:
    """The end-of-run code (loaded inside every profiled run) leaves out the HTML report's
    stress section, whose view builds record types of its own, until the history holds
    stress runs."""
    code = (
        "import sys, json\n"
        "import qhub.profiling.end_of_run, qhub.profiling.render.html_report\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "qhub.profiling.end_of_run" in loaded
    lazy = {"qhub.profiling.render.html_stress", "qhub.profiling.render.stress_view"}
    assert loaded.isdisjoint(lazy), sorted(loaded & lazy)
