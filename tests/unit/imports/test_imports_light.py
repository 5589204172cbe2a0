"""``import qhub.imports`` and ``import qhub.audit`` load nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_is_light() -> None:
    code = ("import sys, json; import qhub.imports; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('qhub', 'behave', "
            "'requests', 'redis', 'faker', 'psutil', 'yaml', 'jsonschema', 'urllib3')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(json.loads(out))
    assert "qhub.imports" in loaded
    assert not {m for m in loaded if m.startswith("qhub.imports.")}
    assert not {m for m in loaded if not m.startswith("qhub")}


def test_audit_package_is_light() -> None:
    code = ("import sys, json; import qhub.audit; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('qhub', 'behave')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert set(json.loads(out)) <= {"qhub", "qhub._lazy", "qhub._version", "qhub.exceptions",
                                    "qhub.audit"}
