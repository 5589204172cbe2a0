"""``CacheAwareDataReader``: reads the templates folder, validating once and caching parses.

A file's validated content is cached under a hash of its bytes (plus locale and versions),
so a warm run neither parses YAML nor imports Faker; an edited file hashes differently and
is parsed again. Cached content is checked again before use (it may come from a shared
store and be hostile); content that does not pass is a miss and the file is parsed anew.

Reading is bounded: only regular files are read (a FIFO or device named ``*.yaml`` is a
one-line ``TemplateError``, never a hang), each at most ``max_template_bytes``, at most
:data:`MAX_FILES` of them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from qhub._bounded import InputLimitError, read_regular_file
from qhub.data._faker import CountingFaker, faker_version, new_faker
from qhub.data._source import parse
from qhub.data._text import one_line
from qhub.data.metrics import DataMetrics
from qhub.data.recipe import GENERATOR_VERSION
from qhub.data.templates import (
    Limits,
    Template,
    TemplateSet,
    check_content,
    resolve,
    validate_file,
)
from qhub.exceptions import DataError, TemplateError

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILES = 10_000
"""Template files one folder may hold."""
DEFAULT_MAX_TEMPLATE_BYTES = 1024 * 1024


class KeyValueStore(Protocol):
    """What the reader needs from a cache: :class:`qhub.cache.CacheManager` fits."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, ttl: float | None = None) -> Any: ...


class CacheAwareDataReader:
    """Reads template files from ``templates_dir``, with parsing cached in ``cache``.

    ``cache`` may be a :class:`qhub.cache.CacheManager`, a :class:`TestDataCache` or None
    (parse every time). Everything is validated on first use; errors are
    :class:`TemplateError` naming ``file:line`` and the field.
    """

    def __init__(
        self,
        cache: KeyValueStore | None = None,
        templates_dir: str | os.PathLike[str] = "data",
        *,
        locale: str = "en_US",
        root: str | os.PathLike[str] | None = None,
        metrics: DataMetrics | None = None,
        faker_factory: Callable[[], CountingFaker] | None = None,
        limits: Limits | None = None,
        max_template_bytes: int = DEFAULT_MAX_TEMPLATE_BYTES,
    ) -> None:
        self._cache = cache
        self.limits = limits or Limits()
        self.max_template_bytes = max_template_bytes
        self._root = Path(root) if root is not None else Path.cwd()
        folder = Path(templates_dir)
        self.templates_dir = folder if folder.is_absolute() else self._root / folder
        self.locale = locale
        self.metrics = metrics or DataMetrics()
        self._faker_factory = faker_factory
        self._fake: CountingFaker | None = None
        self._set: TemplateSet | None = None

    def load(self) -> TemplateSet:
        """Every template and dataset in the folder, validated (memoized per reader)."""
        if self._set is None:
            files = [self._read(path) for path in self.files()]
            self._set = resolve(files)
        return self._set

    def files(self) -> list[Path]:
        """Template files in the folder and its subfolders, in a stable order.

        Every entry with a template suffix counts, whatever it is: a FIFO or device there
        is reported when read, not skipped silently. Symlinked folders are followed once.
        """
        folder = self.templates_dir
        if not folder.exists():
            return []
        if not folder.is_dir():
            raise TemplateError(one_line(
                f"{self._display(folder)}:1: data.templates_dir must be a folder"
            ))
        found: list[Path] = []
        seen: set[str] = set()
        for top, dirs, names in os.walk(folder, followlinks=True):
            real = os.path.realpath(top)
            if real in seen:  # a symlink loop, or a folder reached twice
                dirs[:] = []
                continue
            seen.add(real)
            dirs.sort()
            found.extend(Path(top, n) for n in names if n.endswith(SUFFIXES))
            if len(found) > MAX_FILES:
                raise TemplateError(one_line(
                    f"{self._display(folder)}:1: more than {MAX_FILES:,} template files"
                ))
        return sorted(found)

    def read_template(self, name: str) -> dict[str, Any]:
        """One template as a plain dict: name, base kind, fields, hash, file and line."""
        return _as_dict(self.load().template(name))

    def read_user_templates(self, name: str) -> dict[str, Any]:
        """Template ``name``, which must describe users (``kind: user``)."""
        return self._of_kind(name, "user")

    def read_product_templates(self, name: str) -> dict[str, Any]:
        """Template ``name``, which must describe products (``kind: product``)."""
        return self._of_kind(name, "product")

    def read_test_datasets(self, name: str) -> dict[str, Any]:
        """Dataset definition ``name``: its entries (template or kind, count, options)."""
        dataset: dict[str, Any] = _copy(self.load().dataset(name))
        return dataset

    def _of_kind(self, name: str, kind: str) -> dict[str, Any]:
        template = self.load().template(name)
        if template.base != kind:
            raise DataError(one_line(
                f"template {name!r} ({template.file}:{template.line}) describes "
                f"{template.base or 'custom'} records, not {kind} records"
            ))
        return _as_dict(template)

    def _display(self, path: Path) -> str:
        try:
            return path.relative_to(self._root).as_posix()
        except ValueError:
            return str(path)

    def _read(self, path: Path) -> dict[str, Any]:
        name = self._display(path)
        try:
            raw = read_regular_file(path, self.max_template_bytes)
        except InputLimitError as exc:
            problem = str(exc).replace(str(path), "it")
            limit = " (data.max_template_bytes)" if "limit" in problem or "grew" in problem else ""
            raise TemplateError(one_line(f"{name}:1: cannot read: {problem}{limit}")) from None
        except OSError as exc:
            raise TemplateError(
                one_line(f"{name}:1: cannot read: {exc.strerror or type(exc).__name__}")
            ) from None
        digest = hashlib.sha256(raw).hexdigest()
        key = (f"tpl:{digest[:32]}:{hashlib.sha256(name.encode()).hexdigest()[:8]}:"
               f"{self.locale}:{faker_version()}:{GENERATOR_VERSION}")
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None and check_content(cached, self.limits):
                self.metrics.template_parse_hits += 1
                return dict(cached)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(one_line(f"{name}:1: not UTF-8 text ({exc.reason})")) from None
        source = parse(name, text, is_json=path.suffix == ".json")
        content = validate_file(source, self._provider, self.limits)
        self.metrics.template_parse_misses += 1
        if self._cache is not None:
            self._cache.set(key, content, ttl=None)
        return content

    def _provider(self, name: str) -> Callable[..., Any] | None:
        if self._fake is None:
            factory = self._faker_factory or (lambda: CountingFaker(new_faker(self.locale)))
            self._fake = factory()
        return self._fake.provider(name) if self._fake.has_provider(name) else None


def _as_dict(template: Template) -> dict[str, Any]:
    return {
        "name": template.name,
        "kind": template.base,
        "fields": _copy(dict(template.layers[-1])),
        "layers": [_copy(dict(layer)) for layer in template.layers],
        "hash": template.hash,
        "refs": [list(ref) for ref in template.refs],
        "file": template.file,
        "line": template.line,
    }


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)
