"""Class 3 for test data: every template read, parse and generation has a bound.

Each case loads a real templates folder in a child process under ``RLIMIT_AS`` (1.5 GB) with
a generous "finishes at all" guard, so a memory bomb or a hang shows as a failure instead of
taking the test run down. The rule: a one-line ``TemplateError`` (or ``DataError``) naming
``file:line``, quickly, and nothing else.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = 90  # seconds; a hang guard, not a speed check
MEMORY = 1536 * 1024 * 1024

LOADER = """\
import sys
from qhub.data import CacheAwareDataReader, TestData
from qhub.exceptions import DataError

folder = sys.argv[1]
try:
    loaded = CacheAwareDataReader(None, templates_dir=folder, root=folder).load()
    data = TestData(None, templates=loaded)
    for name in loaded.templates:
        data.records(name, 2)
    for name in loaded.datasets:
        data.dataset(name)
    extra = sys.argv[2] if len(sys.argv) > 2 else ""
    if extra:
        exec(extra)
except DataError as exc:
    print("ERROR", type(exc).__name__, exc)
    sys.exit(0)
print("LOADED")
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def load(folder: Path, extra: str = "") -> str:
    """Load ``folder`` in a child under RLIMIT_AS; its one output line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(folder), extra],
        capture_output=True, text=True, timeout=GUARD, env=env, preexec_fn=_limit_memory,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(line: str, where: str) -> None:
    assert line.startswith("ERROR TemplateError ") or line.startswith("ERROR DataError "), line
    assert where in line, line


ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
templates:
  bomb:
    fields:
      payload: {value: *i}
"""


class TestTemplateBounds:
    """Templates that would exhaust memory or time are refused with file:line."""

    def test_yaml_alias_bomb(self, tmp_path: Path) -> None:
        """The issue's example: a few hundred bytes of aliases expanding to ~400 million
        values (84 s and a MemoryError for qhub.yaml): refused before it is built."""
        write(tmp_path, "bomb.yaml", ALIAS_BOMB)
        line = load(tmp_path)
        refused(line, "bomb.yaml:1:")
        assert "expands to more than" in line

    def test_ref_of_a_billion(self, tmp_path: Path) -> None:
        """``ref ... of: 1000000000`` would generate a billion referenced records."""
        write(tmp_path, "t.yaml", """\
            templates:
              order_line:
                fields:
                  buyer: {ref: user.id, of: 1000000000}
        """)
        refused(load(tmp_path), "t.yaml:4:")

    def test_dataset_count_of_a_billion(self, tmp_path: Path) -> None:
        """A dataset entry with ``count: 1000000000``."""
        write(tmp_path, "d.yaml", """\
            datasets:
              huge:
                people: {kind: user, count: 1000000000}
        """)
        line = load(tmp_path)
        refused(line, "d.yaml:3:")
        assert "data.max_records" in line

    @pytest.mark.parametrize(
        ("call", "line"),
        [
            ("{faker: pystr, args: {max_chars: 1000000000}}", 4),
            ("{faker: password, args: {length: 1000000000}}", 4),
            ("{faker: random_number, args: [1000000]}", 4),
            ("{faker: paragraph, args: {nb_sentences: 1000000000}}", 4),
            ("{faker: pylist, args: {nb_elements: 100000000}}", 4),
        ],
        ids=["pystr-max_chars", "password-length", "random_number-digits",
             "paragraph-nb_sentences", "pylist-nb_elements"],
    )
    def test_gigantic_faker_arguments(self, tmp_path: Path, call: str, line: int) -> None:
        """Size-like Faker arguments beyond data.max_faker_size: refused at load (they
        exhausted memory or never finished while generating)."""
        write(tmp_path, "f.yaml", f"""\
            templates:
              greedy:
                fields:
                  blob: {call}
        """)
        out = load(tmp_path)
        refused(out, f"f.yaml:{line}:")
        assert "data.max_faker_size" in out

    def test_fifo_named_like_a_template(self, tmp_path: Path) -> None:
        """A FIFO called users.yaml in the templates folder: refused at once (reading it
        blocked forever, or it was skipped without a word)."""
        tmp_path.mkdir(exist_ok=True)
        os.mkfifo(tmp_path / "users.yaml")
        line = load(tmp_path)
        refused(line, "users.yaml:1:")
        assert "FIFO" in line

    def test_device_named_like_a_template(self, tmp_path: Path) -> None:
        """A symlink to /dev/zero called zero.yml: refused, not read until memory runs out."""
        (tmp_path / "zero.yml").symlink_to("/dev/zero")
        line = load(tmp_path)
        refused(line, "zero.yml:1:")
        assert "device" in line

    def test_oversized_template_file(self, tmp_path: Path) -> None:
        """A 3 MB template file: refused by size (data.max_template_bytes), not parsed."""
        filler = "\n".join(f"# comment line {i} " + "x" * 60 for i in range(40_000))
        write(tmp_path, "big.yaml", "templates: {}\n" + filler)
        line = load(tmp_path)
        refused(line, "big.yaml:1:")
        assert "data.max_template_bytes" in line

    def test_billion_records_asked_at_run_time(self, tmp_path: Path) -> None:
        """``context.data.users(10**9)`` from a step: one DataError line, no generation."""
        line = load(tmp_path, "data.users(10**9)")
        assert line.startswith("ERROR DataError ") and "data.max_records" in line, line

    def test_symlink_loop_in_templates_folder(self, tmp_path: Path) -> None:
        """A folder symlinked into itself: listed once, loading finishes."""
        write(tmp_path / "sub", "t.yaml", "templates:\n  a:\n    fields:\n      x: {value: 1}\n")
        (tmp_path / "sub" / "loop").symlink_to(tmp_path)
        assert load(tmp_path) == "LOADED"
