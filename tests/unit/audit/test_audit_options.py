"""Every numeric option is range-checked before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qhub.audit.options import options_from
from qhub.exceptions import AuditError


@pytest.mark.parametrize(("key", "value", "message"), [
    ("heavy_threshold_ms", -5, "--threshold-ms must be between 0 and 600000, got -5"),
    ("heavy_threshold_ms", float("inf"), "--threshold-ms must be between"),
    ("timeout_s", 0, "--timeout must be between 0.1 and 3600, got 0"),
    ("jobs", 1000, "--jobs must be between 0 and 256, got 1000"),
    ("repeat", 0, "--repeat must be between 1 and 50, got 0"),
    ("repeat", 1.5, "--repeat must be a number, got 1.5"),
    ("min_cost_ms", -1, "min_cost_ms must be between 0 and 600000, got -1"),
    ("max_uses", 0, "max_uses must be between 1 and 1000, got 0"),
    ("max_bytes", 0, "max_bytes must be between 1 and"),
    ("jobs", True, "--jobs must be a number, got True"),
])
def test_out_of_range(tmp_path: Path, key: str, value: Any, message: str) -> None:
    with pytest.raises(AuditError) as err:
        options_from(None, {"root": tmp_path, key: value})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_option_and_defaults(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="unknown audit option"):
        options_from(None, {"root": tmp_path, "nope": 1})
    opts = options_from(None, {"root": tmp_path})
    assert opts.heavy_threshold_ms == 50.0 and opts.root == tmp_path.resolve()
