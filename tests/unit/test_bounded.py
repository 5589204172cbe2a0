"""Bounded input: regular files only, size caps, YAML expansion and depth limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qhub._bounded import (
    InputLimitError,
    check_depth,
    read_regular_file,
    yaml_load,
)

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


class TestReadRegularFile:
    """qhub._bounded.read_regular_file."""

    def test_reads_file(self, tmp_path: Path) -> None:
        (tmp_path / "a").write_bytes(b"abc")
        assert read_regular_file(tmp_path / "a") == b"abc"

    def test_fifo_refused_without_blocking(self, tmp_path: Path) -> None:
        fifo = tmp_path / "x.yaml"
        os.mkfifo(fifo)
        with pytest.raises(InputLimitError, match=r"is not a regular file \(a FIFO\)$"):
            read_regular_file(fifo)

    def test_device_and_folder_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InputLimitError, match=r"\(a device\)$"):
            read_regular_file("/dev/zero")
        with pytest.raises(InputLimitError, match=r"\(a folder\)$"):
            read_regular_file(tmp_path)

    def test_size_cap(self, tmp_path: Path) -> None:
        (tmp_path / "big").write_bytes(b"x" * 101)
        with pytest.raises(InputLimitError, match=r"is 101 bytes; the limit is 100$"):
            read_regular_file(tmp_path / "big", max_bytes=100)


class TestYamlLoad:
    """qhub._bounded.yaml_load."""

    def test_plain_document_and_aliases(self) -> None:
        assert yaml_load("a: &x [1]\nb: *x\n") == {"a": [1], "b": [1]}

    def test_alias_bomb_refused_before_expansion(self) -> None:
        assert len(BOMB) < 400
        with pytest.raises(InputLimitError, match="expands to more than 1,000,000 values"):
            yaml_load(BOMB)

    def test_small_cap(self) -> None:
        with pytest.raises(InputLimitError, match="more than 5 values"):
            yaml_load("[1, 2, 3, 4, 5, 6]", max_nodes=5)

    def test_depth_cap(self) -> None:
        with pytest.raises(InputLimitError, match="deeper than 64 levels"):
            yaml_load("[" * 70 + "]" * 70)

    def test_recursive_alias(self) -> None:
        with pytest.raises(InputLimitError, match="refers to itself"):
            yaml_load("a: &a [*a]")

    def test_empty(self) -> None:
        assert yaml_load("") is None


class TestCheckDepth:
    """qhub._bounded.check_depth."""

    def test_deep_list_refused_without_recursion(self) -> None:
        data: list[object] = []
        for _ in range(50_000):
            data = [data]
        with pytest.raises(InputLimitError, match="deeper than 64"):
            check_depth(data)

    def test_shallow_ok(self) -> None:
        check_depth({"a": [{"b": 1}]})
