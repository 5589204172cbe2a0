"""``TestData`` (``context.data``): cached, deterministic, scenario-safe test records.

Every dataset is identified by a :class:`~qhub.data.recipe.Recipe`; its key is a hash of
everything that shapes the records, so a cache entry can never be stale. Datasets are
fetched with ``get_or_set`` (one generation per key across threads, processes and
Redis-sharing workers) and every caller receives its own copy. A cached entry that is not
a list of as many records as its recipe makes (damaged, planted in a shared store) is a
miss: it is replaced by freshly generated records, with one warning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

import orjson

from qhub._record import frozen_record
from qhub._warn import warn
from qhub.data._faker import CountingFaker, check_locale, new_faker
from qhub.data._text import one_line
from qhub.data.kinds import KINDS, RELATED, DatasetState, Record
from qhub.data.metrics import DataMetrics
from qhub.data.recipe import Recipe, stable_hash
from qhub.data.render import related_key, render
from qhub.data.templates import Limits, Template, TemplateSet
from qhub.exceptions import DataError

if TYPE_CHECKING:
    from qhub.cache import CacheManager
    from qhub.config import QHubConfig

NAMESPACE = "data"
"""Cache namespace holding every test-data key (``qhub cache clear`` can target it)."""

POOL_SIZE = 100
"""Records generated at once for :meth:`TestData.build` (one cache entry per chunk)."""

DEFAULT_RELATED_COUNT = 10
"""Users and products an order dataset draws from unless told otherwise."""


@frozen_record(slots=False)
class _Stored:
    """What a label (``key=``) points at: a recipe plus the overrides applied on the way out."""

    name: str
    count: int
    related: Mapping[str, int | str]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    rows: tuple[Mapping[str, Any], ...] = ()


class TestData:
    """Generates and caches test records; what ``context.data`` is.

    ``cache`` is a :class:`qhub.cache.CacheManager` (None: generate every time). ``ttl`` is
    seconds a dataset stays cached, 0 for no expiry. Records are plain JSON-compatible
    dicts, and every call returns fresh copies, so callers may mutate them freely.
    ``max_records`` bounds one dataset (``data.max_records``).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        cache: CacheManager | None = None,
        *,
        locale: str = "en_US",
        seed: int = 1234,
        ttl: float = 86400,
        templates: TemplateSet | None = None,
        metrics: DataMetrics | None = None,
        on_close: Callable[[], None] | None = None,
        max_records: int = Limits.max_records,
    ) -> None:
        self._cache = cache
        self.max_records = max_records
        self.locale = locale
        self.seed = seed
        self.ttl = ttl
        self.templates = templates or TemplateSet()
        self.metrics = metrics or DataMetrics()
        self._on_close = on_close
        self._fake: CountingFaker | None = None
        self._lock = threading.RLock()
        self._labels: dict[str, _Stored] = {}
        self._pools: dict[str, tuple[int, list[Record]]] = {}
        self._built: dict[str, int] = {}

    # -- public API -------------------------------------------------------------------------
    def users(self, n: int | None = None, key: str | None = None, **opts: Any) -> list[Record]:
        """``n`` users (``id``, ``uuid``, ``username`` and ``email`` unique)."""
        return self.records("user", n, key, **opts)

    def addresses(self, n: int | None = None, key: str | None = None, **opts: Any) -> list[Record]:
        """``n`` postal addresses."""
        return self.records("address", n, key, **opts)

    def companies(self, n: int | None = None, key: str | None = None, **opts: Any) -> list[Record]:
        """``n`` companies (``id`` and ``name`` unique)."""
        return self.records("company", n, key, **opts)

    def products(self, n: int | None = None, key: str | None = None, **opts: Any) -> list[Record]:
        """``n`` products (``id`` and ``sku`` unique)."""
        return self.records("product", n, key, **opts)

    def orders(
        self,
        n: int | None = None,
        key: str | None = None,
        *,
        users: int | str = DEFAULT_RELATED_COUNT,
        products: int | str = DEFAULT_RELATED_COUNT,
        **opts: Any,
    ) -> list[Record]:
        """``n`` orders placed by existing users for existing products.

        ``users``/``products`` are a count (the same records ``users(count)`` returns) or
        the label of data stored earlier with ``key=``.
        """
        return self.records("order", n, key, users=users, products=products, **opts)

    def records(
        self,
        kind: str,
        n: int | None = None,
        key: str | None = None,
        *,
        rows: Sequence[Mapping[str, Any]] | None = None,
        users: int | str | None = None,
        products: int | str | None = None,
        **overrides: Any,
    ) -> list[Record]:
        """``n`` records of a built-in kind or template, optionally stored under ``key``.

        ``overrides`` set fields on every record (``address__city="Oslo"`` sets a nested
        field); ``rows`` gives per-record overrides and, without ``n``, the count.
        Overrides are applied on the way out, so they never multiply cache entries.
        """
        row_list = tuple(dict(r) for r in rows or ())
        count = len(row_list) if n is None else n
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise DataError(one_line(f"record count must be a non-negative integer, got {n!r}"))
        if count > self.max_records:
            raise DataError(one_line(f"{count:,} {kind!r} records asked for; data.max_records "
                                     f"is {self.max_records:,}"))
        if row_list and len(row_list) != count:
            raise DataError(one_line(f"{len(row_list)} rows given for {count} records"))
        related = {k: v for k, v in (("users", users), ("products", products)) if v is not None}
        stored = _Stored(kind, count, related, dict(overrides), row_list)
        self._base_of(kind)  # fail fast on an unknown name, before storing the label
        if key is not None:
            self._labels[key] = stored
        return self._materialize(stored)

    def build(self, kind: str, **overrides: Any) -> Record:
        """One new record of ``kind`` (built-in or template), with ``overrides`` applied.

        Successive calls give successive records of a cached pool, so a second run gets the
        same records in the same order without calling Faker.
        """
        with self._lock:
            index = self._built.get(kind, 0)
            self._built[kind] = index + 1
            pool = self._pools.get(kind)
        chunk, offset = divmod(index, POOL_SIZE)
        if pool is None or pool[0] != chunk:
            # fetched without holding self._lock: generation takes it inside the cache's lock
            pool = (chunk, self._dataset(kind, POOL_SIZE, start=chunk * POOL_SIZE))
            with self._lock:
                current = self._pools.get(kind)
                if current is None or current[0] < chunk:
                    self._pools[kind] = pool
        record: Record = _copy(pool[1][offset])
        _apply(record, overrides)
        self.metrics.served(1)
        return record

    def dataset(self, name: str) -> dict[str, list[Record]]:
        """Records of every entry of dataset ``name``; each also stored as ``name.entry``."""
        spec = self.templates.dataset(name)
        out: dict[str, list[Record]] = {}
        for entry, entry_spec in spec["entries"].items():
            related = {
                rel: (f"{name}.{entry_spec[rel]}" if isinstance(entry_spec[rel], str)
                      else entry_spec[rel])
                for rel in ("users", "products") if rel in entry_spec
            }
            stored = _Stored(entry_spec["of"], entry_spec["count"], related,
                             dict(entry_spec["overrides"]))
            self._labels[f"{name}.{entry}"] = stored
            out[entry] = self._materialize(stored)
        return out

    def get(self, key: str) -> list[Record]:
        """Data stored earlier under ``key``, as a fresh copy (scenario-safe)."""
        try:
            stored = self._labels[key]
        except KeyError:
            known = ", ".join(sorted(self._labels)) or "none yet"
            raise DataError(
                one_line(f"no test data stored under {key!r} (stored: {known})")
            ) from None
        return self._materialize(stored)

    def __getitem__(self, key: str) -> list[Record]:
        return self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._labels

    def keys(self) -> list[str]:
        """Labels stored so far with ``key=``."""
        return sorted(self._labels)

    def recipe(self, kind: str, n: int, **related: int | str) -> Recipe:
        """The recipe (and so the cache key) of ``n`` records of ``kind``."""
        return self._recipe(kind, n, 0, related)

    def stats(self) -> dict[str, Any]:
        """Hits, misses, hit rate, generation vs. retrieval seconds, records, Faker calls."""
        fake = self._fake
        return self.metrics.as_dict(
            faker_calls=fake.calls if fake is not None else 0,
            faker_instances=int(fake is not None),
        )

    get_cache_performance_metrics = stats
    """The reference document's name for :meth:`stats`."""

    @classmethod
    def from_config(cls, config: QHubConfig, cache: CacheManager | None = None) -> TestData:
        """Test data as configured; locale and templates are validated now.

        ``data.backend = "inherit"`` stores data in ``cache`` (namespace ``data``); another
        backend name builds a cache of its own, closed by :meth:`close`. With
        ``data.enabled`` off, records are generated on every call and nothing is cached.
        An unknown locale raises :class:`qhub.DataError` and a bad template
        :class:`qhub.TemplateError` here, before any record is made.
        """
        from qhub.data.reader import CacheAwareDataReader

        settings = config.data
        check_locale(settings.locale)
        manager: CacheManager | None = None
        owned: CacheManager | None = None
        if settings.enabled:
            from qhub.cache import CacheManager

            if settings.backend == "inherit":
                manager = cache
                if manager is None and config.cache.enabled:
                    manager = owned = CacheManager.from_config(config)
            else:
                manager = owned = CacheManager.from_config(config, backend=settings.backend)
        store = manager.namespaced(NAMESPACE) if manager is not None else None
        limits = Limits(max_records=settings.max_records,
                        max_faker_size=settings.max_faker_size)
        data = cls(
            store,
            locale=settings.locale,
            seed=settings.seed,
            ttl=settings.cache_ttl,
            on_close=owned.close if owned is not None else None,
            max_records=settings.max_records,
        )
        reader = CacheAwareDataReader(
            store,
            config.path(settings.templates_dir),
            locale=settings.locale,
            root=config.root,
            metrics=data.metrics,
            faker_factory=data._faker,
            limits=limits,
            max_template_bytes=settings.max_template_bytes,
        )
        try:
            data.templates = reader.load()
        except BaseException:
            data.close()
            raise
        return data

    def close(self) -> None:
        """Release a cache built for this object (a shared one, like ``context.cache``, stays)."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    # -- internals --------------------------------------------------------------------------
    def _materialize(self, stored: _Stored, *, use_cache: bool = True) -> list[Record]:
        records = self._dataset(stored.name, stored.count, related=stored.related,
                                use_cache=use_cache)
        for index, record in enumerate(records):
            _apply(record, stored.overrides)
            if stored.rows:
                _apply(record, stored.rows[index])
        self.metrics.served(len(records))
        return records

    def _base_of(self, name: str) -> tuple[str | None, Template | None]:
        if name in KINDS:
            return name, None
        template = self.templates.template(name)
        return template.base, template

    def _related_specs(
        self, name: str, related: Mapping[str, int | str]
    ) -> dict[str, tuple[str, int | str]]:
        """Related-data name (as the renderer sees it) -> (kind, count or label)."""
        base, template = self._base_of(name)
        specs: dict[str, tuple[str, int | str]] = {}
        for kind in RELATED.get(base or "", ()):
            source = related.get(f"{kind}s", DEFAULT_RELATED_COUNT)
            specs[kind] = (kind, source)
        for target, of in template.refs if template else ():
            specs[related_key(target, of)] = (target, of)
        return specs

    def _recipe(
        self, name: str, count: int, start: int, related: Mapping[str, int | str]
    ) -> Recipe:
        _, template = self._base_of(name)
        sources: dict[str, Any] = {}
        for rel_name, (kind, source) in self._related_specs(name, related).items():
            if isinstance(source, str):
                sources[rel_name] = {"label": source, "data": self._fingerprint(source)}
            else:
                sources[rel_name] = self._recipe(kind, source, 0, {}).key
        options: dict[str, Any] = {"related": sources} if sources else {}
        if start:
            options["start"] = start
        return Recipe(
            kind=name,
            count=count,
            seed=self.seed,
            locale=self.locale,
            template_hash=template.hash if template else None,
            options=options,
        )

    def _fingerprint(self, label: str) -> str:
        """Hash that changes whenever the data stored under ``label`` would change."""
        stored = self._label(label)
        recipe = self._recipe(stored.name, stored.count, 0, stored.related)
        return stable_hash([recipe.key, dict(stored.overrides), list(stored.rows)])

    def _label(self, label: str) -> _Stored:
        try:
            return self._labels[label]
        except KeyError:
            known = ", ".join(sorted(self._labels)) or "none yet"
            raise DataError(
                one_line(f"related data {label!r} was never stored (stored: {known})")
            ) from None

    def _dataset(
        self,
        name: str,
        count: int,
        *,
        start: int = 0,
        related: Mapping[str, int | str] | None = None,
        use_cache: bool = True,
    ) -> list[Record]:
        """The records of one recipe: from the cache, or generated once and cached."""
        related = related or {}
        recipe = self._recipe(name, count, start, related)
        generated: list[float] = []

        def compute() -> list[Record]:
            sources = {
                rel_name: (self._label_records(source) if isinstance(source, str)
                           else self._dataset(kind, source))
                for rel_name, (kind, source) in self._related_specs(name, related).items()
            }
            with self._lock:
                began = time.perf_counter()
                records = self._generate(name, recipe, start, sources)
                generated.append(time.perf_counter() - began)
            return records

        began = time.perf_counter()
        value: Any
        if self._cache is None or not use_cache:
            value = compute()
        else:
            value = self._cache.get_or_set(recipe.key, compute, ttl=self.ttl)
            if not generated and not _is_records(value, count):
                # damaged or planted: a miss, replaced by what the recipe makes
                warn(f"test data: cache entry {recipe.key!r} did not hold {count} records; "
                     "regenerated it", once=f"data:bad-entry:{recipe.key}")
                self._cache.delete(recipe.key)
                value = compute()
                self._cache.set(recipe.key, value, ttl=self.ttl)
        if generated:
            self.metrics.miss(generated[0], count)
            value = _copy(value)  # the caller's own copy, never the object handed to the cache
        else:
            self.metrics.hit(time.perf_counter() - began)
        return value  # type: ignore[no-any-return]

    def _label_records(self, label: str) -> list[Record]:
        return self._materialize(self._label(label))


    def _faker(self) -> CountingFaker:
        if self._fake is None:
            self._fake = CountingFaker(new_faker(self.locale))
        return self._fake

    def _generate(
        self, name: str, recipe: Recipe, start: int, related: dict[str, list[Record]]
    ) -> list[Record]:
        for rel_name, rows in related.items():
            if not rows:
                raise DataError(
                    one_line(f"cannot make {name!r} records: related {rel_name!r} data is empty")
                )
        fake = self._faker()
        fake.seed(recipe.faker_seed)
        ctx = DatasetState(start=start, related=related)
        template = self._base_of(name)[1]
        if template is None:
            make: Callable[[CountingFaker, int, DatasetState], Record] = KINDS[name]
            return [make(fake, i, ctx) for i in range(recipe.count)]
        return [render(template, fake, i, ctx) for i in range(recipe.count)]


def _apply(record: Record, overrides: Mapping[str, Any]) -> None:
    """Set ``overrides`` on ``record``; ``a__b`` sets ``record["a"]["b"]``."""
    for dotted, value in overrides.items():
        target = record
        *parents, leaf = dotted.split("__")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = {}
                target[part] = child
            target = child
        target[leaf] = _copy(value) if isinstance(value, (dict, list)) else value


def _is_records(value: Any, count: int) -> bool:
    """True for what a recipe of ``count`` records makes: a list of that many dicts."""
    return (
        isinstance(value, list)
        and len(value) == count
        and all(isinstance(record, dict) for record in value)
    )


def data_from_config(config: QHubConfig, cache: CacheManager | None) -> TestData:
    """Same as :meth:`TestData.from_config` (the name earlier releases exported)."""
    return TestData.from_config(config, cache)


def _copy(value: Any) -> Any:
    """Deep copy of JSON-compatible data (orjson round trip: fast, exact for JSON types)."""
    return orjson.loads(orjson.dumps(value))
