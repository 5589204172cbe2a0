"""The runnable examples in docs/data.md run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "data.md"
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
          if "context" not in b]


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_doc_example_runs(code: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_doc_template_example_is_valid(tmp_path: Path) -> None:
    """The YAML example in the template reference loads and renders."""
    from qhub.data import CacheAwareDataReader, TestData

    text = re.search(r"```yaml\n(# data/users.yaml\n.*?)```", DOC.read_text(encoding="utf-8"),
                     re.S)
    assert text is not None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.yaml").write_text(text.group(1), encoding="utf-8")
    data = TestData(None)
    data.templates = CacheAwareDataReader(None, tmp_path / "data").load()
    suite = data.dataset("regression_suite")
    assert len(suite["orders"]) == 10
    assert data.build("super_admin")["role"] == "superadmin"
    assert data.records("ticket", 2)[0]["code"].startswith("T-")
