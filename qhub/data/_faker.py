"""Faker behind a counting proxy, so tests can prove a warm run makes zero Faker calls.

Every provider call qhub makes goes through :class:`CountingFaker`; the count is exact
(per proxy and for the whole process). Faker itself is imported only when data is really
generated, never on a cache hit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

# itertools.count: next() is atomic under the GIL and cheap, so counts stay exact with threads
_process_calls = itertools.count()
_process_instances = itertools.count()


def _value(counter: itertools.count[int]) -> int:
    """Current value of a counter without advancing it (its repr is ``count(N)``)."""
    return int(repr(counter)[len("count("):-1])


def process_faker_calls() -> int:
    """Provider calls made through any :class:`CountingFaker` in this process."""
    return _value(_process_calls)


def process_faker_instances() -> int:
    """Faker instances qhub created in this process (zero on a fully warm run)."""
    return _value(_process_instances)


@functools.lru_cache(maxsize=1)
def faker_version() -> str:
    """Installed Faker version, read from package metadata (does not import Faker)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("faker")
    except PackageNotFoundError:  # pragma: no cover - faker is a hard dependency
        return "missing"


def available_locales() -> frozenset[str]:
    """Locales the installed Faker has (the config schema's scan, Faker not imported)."""
    from qhub.config.schema import faker_locales

    return faker_locales()


DEFAULT_LOCALE = "en_US"


def check_locale(locale: str) -> str:
    """``locale`` if the installed Faker has it; DataError with close matches otherwise."""
    import difflib

    from qhub.data._text import one_line
    from qhub.exceptions import DataError

    if locale == DEFAULT_LOCALE:
        return locale
    known = available_locales()
    if not known or locale.replace("-", "_") in known:
        return locale
    close = difflib.get_close_matches(locale.replace("-", "_"), sorted(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise DataError(one_line(f"unknown Faker locale {locale!r}{hint}"))


def is_provider_name(name: object) -> bool:
    """Whether ``name`` could be a Faker data provider (not machinery, not private)."""
    return (
        isinstance(name, str)
        and bool(name)
        and not name.startswith("_")
        and name not in _NOT_PROVIDERS
    )


def new_faker(locale: str) -> Any:
    """A fresh ``faker.Faker`` for ``locale``; raises DataError for an unknown locale."""
    from qhub.data._text import one_line
    from qhub.exceptions import DataError

    try:
        from faker import Faker
    except ImportError as exc:  # pragma: no cover - faker is a hard dependency
        raise DataError("test data needs the 'faker' package (pip install faker)") from exc
    try:
        fake = Faker(locale)
    except AttributeError as exc:
        raise DataError(one_line(f"unknown Faker locale {locale!r}")) from exc
    next(_process_instances)
    return fake


class CountingFaker:
    """Wraps a Faker instance; every provider call through it is counted.

    Wrappers are cached on the proxy after first use, so the overhead is one extra Python
    call per provider call.
    """

    def __init__(self, fake: Any) -> None:
        self._fake = fake
        self._calls = itertools.count()

    @property
    def calls(self) -> int:
        """Provider calls made through this proxy."""
        return _value(self._calls)

    @property
    def faker(self) -> Any:
        """The wrapped Faker instance (calls made on it directly are not counted)."""
        return self._fake

    def seed(self, seed: int) -> None:
        """Seed the wrapped instance (not a provider call, so not counted)."""
        self._fake.seed_instance(seed)

    def has_provider(self, name: str) -> bool:
        """Whether ``name`` is a public, callable provider of this locale."""
        if not is_provider_name(name):
            return False
        try:
            return callable(getattr(self._fake, name))
        except AttributeError:
            return False

    def provider(self, name: str) -> Callable[..., Any]:
        """The raw provider method (for signature checks; calling it is not counted)."""
        method: Callable[..., Any] = getattr(self._fake, name)
        return method

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        target = getattr(self._fake, name)
        if not callable(target):
            return target

        mine, everyone = self._calls, _process_calls

        def counted(*args: Any, **kwargs: Any) -> Any:
            next(mine)
            next(everyone)
            return target(*args, **kwargs)

        object.__setattr__(self, name, counted)
        return counted


_NOT_PROVIDERS = frozenset(
    {
        "seed",
        "seed_instance",
        "seed_locale",
        "add_provider",
        "get_providers",
        "provider",
        "set_formatter",
        "get_formatter",
        "format",
        "parse",
        "set_arguments",
        "get_arguments",
        "del_arguments",
        "unique",
        "optional",
        "random",
        "factories",
        "weights",
        "items",
        "locales",
    }
)
"""Faker attributes that are machinery, not data providers (rejected in templates)."""
