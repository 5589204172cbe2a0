"""behave's loading replayed statically: where names resolve, what runs, in which order."""

from __future__ import annotations

import os
from pathlib import Path

from qhub.audit.engine import display
from qhub.audit.facts import FileFacts
from qhub.audit.interpreter import Interpreter, Resolution
from qhub.audit.loadorder import Replay, StepEvent, Trace
from qhub.audit.sources import read_source
from qhub.audit.walker import analyse

SITE = "/usr/lib/fake-site"


def interp(*extra_path: str) -> Interpreter:
    return Interpreter(
        executable="/usr/bin/python3", version="3.11.7", version_info=(3, 11),
        behave_version="1.3.3", path=(*extra_path, "/usr/lib/python3.11", SITE),
        prefixes=("/usr",), sites=(SITE,), stdlib=frozenset({"cmd", "json", "os"}),
        builtins=frozenset({"sys"}),
    )


def replay(root: Path, resolutions: dict[str, Resolution], *, baseline: tuple[str, ...] = (),
           extra_path: tuple[str, ...] = ()) -> Trace:
    def read(path: Path, shown: str) -> FileFacts | None:
        src = read_source(path, shown)
        return analyse(src.tree, src.text) if src.tree and src.text is not None else None

    r = Replay(root=root, interp=interp(*extra_path), resolutions=resolutions,
               baseline=baseline, read=read, display=lambda p: display(p, root))
    features = root / "features"
    steps = features / "steps"
    env = features / "environment.py"
    files = sorted(p for p in steps.iterdir() if p.suffix == ".py")
    return r.run(env if env.exists() else None, files, [steps], features)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def found(origin: str, package: bool = False) -> Resolution:
    locations = [os.path.dirname(origin)] if package else []
    return Resolution("found", origin, locations, package)


def test_project_modules_followed_depth_first_externals_recorded(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "features/environment.py": "from pages.login import Login\n",
        "pages/__init__.py": "import jsonish\n",
        "pages/login.py": "import requests\n\nclass Login:\n    pass\n",
        "features/steps/a.py": "import requests\nimport pages.login\n",
    })
    res = {"pages": Resolution("missing"), "jsonish": found(f"{SITE}/jsonish.py"),
           "requests": found(f"{SITE}/requests/__init__.py", package=True)}
    trace = replay(root, res)
    assert list(trace.units) == ["features/environment.py", "pages/__init__.py",
                                 "pages/login.py", "features/steps/a.py"]
    got = [(e.unit, e.site.line, e.form, [(f.path, f.line) for f in e.chain])
           for e in trace.externals]
    assert got == [
        ("pages/__init__.py", 1, "import jsonish", [("features/environment.py", 1)]),
        ("pages/login.py", 1, "import requests", [("features/environment.py", 1)]),
        ("features/steps/a.py", 1, "import requests", []),
    ]


def test_steps_folder_first_shadows_stdlib_and_registers_in_order(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "features/steps/a.py": ("from cmd import helper\nfrom behave import given\n\n"
                                "@given('x')\ndef s(c):\n    pass\n"),
        "features/steps/cmd.py": "from behave import when\n\n@when('y')\ndef t(c):\n    pass\n",
    })
    res = {"cmd": found("/usr/lib/python3.11/cmd.py"), "behave": found(f"{SITE}/behave/x")}
    trace = replay(root, res, baseline=("behave",))
    assert list(trace.shadows) == ["features/steps/cmd.py"]
    assert trace.shadows["features/steps/cmd.py"].other == "the standard library"
    steps = [(e.unit, e.step.pattern) for e in trace.registry if isinstance(e, StepEvent)]
    # cmd.py registers when a.py imports it, then again when behave executes it
    assert steps == [("features/steps/cmd.py", "y"), ("features/steps/a.py", "x"),
                     ("features/steps/cmd.py", "y")]


def test_sys_path_edit_in_environment_makes_helpers_importable(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "features/environment.py": ("import os, sys\nsys.path.append(os.path.join("
                                    "os.path.dirname(__file__), '..', 'lib'))\n"
                                    "import helper\n"),
        "lib/helper.py": "import slowthing\n",
        "features/steps/a.py": "",
    })
    res = {"helper": Resolution("missing"), "slowthing": found(f"{SITE}/slowthing.py"),
           "os": Resolution("frozen")}
    trace = replay(root, res)
    assert not trace.missing and "lib/helper.py" in trace.units
    assert [e.form for e in trace.externals] == ["import os", "import sys", "import slowthing"]
    assert trace.added_paths == [str(root / "lib")]


def test_missing_relative_and_unknown_paths(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "features/steps/a.py": "import nowhere\nfrom . import x\n",
        "features/steps/b.py": "import sys\nsys.path.append(os.environ['X'])\n",
    })
    trace = replay(root, {"nowhere": Resolution("missing")})
    assert [(m.unit, m.name, m.reason) for m in trace.missing] == [
        ("features/steps/a.py", "nowhere", "not found"),
        ("features/steps/a.py", ".", "relative import in a file behave executes directly "
         "(it has no package)"),
    ]
    assert trace.path_uncertain and "not understood statically" in trace.path_notes[0]


def test_installed_folder_inside_project_is_external(tmp_path: Path) -> None:
    venv = tmp_path / ".venv" / "site"
    root = write(tmp_path, {"features/steps/a.py": "import vendored\n",
                            ".venv/site/vendored.py": "X = 1\n"})
    i = interp(str(venv))
    object.__setattr__(i, "sites", (str(venv),))
    r = Replay(root=root, interp=i, resolutions={"vendored": found(str(venv / "vendored.py"))},
               baseline=(), read=lambda p, d: None, display=lambda p: display(p, root))
    assert not r.project_entry(str(venv)) and r.project_entry(str(root / "features"))
