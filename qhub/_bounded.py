"""Bounded input: every file read and every parse qhub does has a size, depth and count limit.

- :func:`read_regular_file` reads a *regular* file of at most ``max_bytes``; a FIFO, device
  or folder is refused at once (opening is non-blocking, so a FIFO never hangs the caller).
- :func:`yaml_compose` composes YAML into a node graph and refuses it before construction
  when aliases would expand it past ``max_nodes`` (a 322-byte "billion laughs" document) or
  it nests deeper than ``max_depth``. Checking the graph costs one pass with memoised
  subtree sizes, linear in the document, however many times aliases repeat a subtree.
- :func:`check_depth` bounds nesting of already parsed data (JSON, TOML) without recursion.

Each limit, when hit, raises :class:`InputLimitError` with one line; callers re-raise it as
their own error type (``ConfigError``, ``TemplateError``) with the file and line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qhub.exceptions import QHubError

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Default cap on one configuration or template file."""
MAX_DEPTH = 64
"""Default cap on nesting of mappings and sequences."""
MAX_NODES = 1_000_000
"""Default cap on the number of values a YAML document expands to, aliases included."""


class InputLimitError(QHubError, ValueError):
    """Input exceeds a size, depth or count limit, or is not a regular file."""


def read_regular_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), or :class:`OSError`.

    Raises :class:`InputLimitError` for anything that is not a regular file, or is larger.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputLimitError(f"{path} is not a regular file ({_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            raise InputLimitError(f"{path} is {info.st_size:,} bytes; the limit is {max_bytes:,}")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise InputLimitError(f"{path} grew past {max_bytes:,} bytes while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_regular_text(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> str:
    """:func:`read_regular_file` decoded as UTF-8 (``UnicodeDecodeError`` on bad bytes)."""
    return read_regular_file(path, max_bytes).decode("utf-8")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def yaml_compose(
    text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Any:
    """The YAML node graph of ``text`` (``None`` for an empty document), checked for size.

    Raises ``yaml.YAMLError`` for syntax errors (the caller reports the line) and
    :class:`InputLimitError` when expansion or nesting exceeds the limits.
    """
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        check_yaml_graph(node, max_nodes=max_nodes, max_depth=max_depth)
    return node


def yaml_construct(node: Any) -> Any:
    """Python data of a node graph from :func:`yaml_compose` (safe types only)."""
    import yaml

    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def yaml_load(text: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """``yaml.safe_load`` with the limits of :func:`yaml_compose`."""
    return yaml_construct(yaml_compose(text, max_nodes=max_nodes, max_depth=max_depth))


def check_yaml_graph(root: Any, *, max_nodes: int, max_depth: int) -> None:
    """Refuse a node graph that expands past ``max_nodes`` values or ``max_depth`` levels.

    Iterative post-order walk; each distinct node's expanded size and height are computed
    once, so an alias bomb is measured in time linear in its *text*, not its expansion.
    """
    import yaml

    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            children = _children(node, yaml)
            total = 1 + sum(size[id(c)] for c in children)
            deepest = 1 + max((height[id(c)] for c in children), default=0)
            if total > max_nodes:
                raise InputLimitError(
                    f"YAML expands to more than {max_nodes:,} values (aliases included)"
                )
            if deepest > max_depth:
                raise InputLimitError(f"YAML nests deeper than {max_depth} levels")
            size[key] = total
            height[key] = deepest
            continue
        if key in size:
            continue
        if key in on_path:
            raise InputLimitError("YAML refers to itself (recursive alias)")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node, yaml):
            if id(child) not in size:
                stack.append((child, False))


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_depth(data: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`InputLimitError` when ``data`` nests deeper than ``max_depth``."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        if depth > max_depth:
            raise InputLimitError(f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)


def is_regular_path(path: Path) -> bool:
    """True when ``path`` exists and is a regular file (symlinks followed)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
