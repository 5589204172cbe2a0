"""Redis backend (redis-py): pooled connections, native TTL, MGET, pipelines, SCAN.

``redis`` is imported when a backend is built, never at ``import qhub.cache``. Every call is
one round trip: ``GET``, ``SET PX``, ``MGET``, a non-transactional pipeline for
``set_many``; pattern deletion walks ``SCAN MATCH`` in batches and ``UNLINK``s each batch
(never ``KEYS``). Connection failures fail fast (one quick retry for a stale pooled
connection) and surface as :class:`qhub.exceptions.CacheBackendError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote

from qhub._redact import redact_text, redact_url, remember_secret
from qhub.cache.base import CacheBackend, Entry
from qhub.cache.patterns import compile_glob, glob_escape
from qhub.exceptions import CacheBackendError, DependencyMissingError

if TYPE_CHECKING:
    from qhub.config import QHubConfig

T = TypeVar("T")
_SCAN_COUNT = 1000
_LOCK_PREFIX = "qhub-lock:"
_DELETE_IF = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0"
)


def _ttl_ms(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, round(ttl * 1000))


class RedisCacheBackend(CacheBackend):
    """Cache values in Redis; ``url`` (``redis://``, ``rediss://``) wins over host/port/db."""

    name = "redis"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        url: str | None = None,
        *,
        username: str | None = None,
        socket_timeout: float = 2.0,
        max_connections: int | None = 50,
        client: Any = None,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__()
        # known before anything can fail, so no error message or log line can show them
        remember_secret(password)
        if url:
            url, shown = _split_credentials(url)
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - redis is a runtime dependency
            raise DependencyMissingError(
                "the Redis cache backend needs redis-py: pip install redis"
            ) from exc
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        if client is not None:
            self.client = client
            self.description = "redis (client given)"
            return
        options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            "retry": Retry(NoBackoff(), 1),
            "max_connections": max_connections,
            "health_check_interval": 0,
            **connection_kwargs,
        }
        if url:
            if not url.startswith(("redis://", "rediss://", "unix://")):
                raise CacheBackendError(
                    f"Redis URL must start with redis://, rediss:// or unix://, "
                    f"got {redact_url(url)!r}"
                )
            if password is not None:
                options["password"] = password
            pool = redis.ConnectionPool.from_url(url, **options)
            self.description = shown
        else:
            pool = redis.ConnectionPool(
                host=host, port=port, db=db, password=password, username=username, **options
            )
            self.description = f"redis://{host}:{port}/{db}"
        self.client = redis.Redis(connection_pool=pool)

    @classmethod
    def from_config(cls, config: QHubConfig, **options: Any) -> RedisCacheBackend:
        """The server of ``redis.url`` (or ``redis.host``/``port``/``db``/``password``)."""
        redis = config.redis
        where: dict[str, Any] = (
            {"url": redis.url, "password": redis.password}
            if redis.url
            else {"host": redis.host, "port": redis.port, "db": redis.db,
                  "password": redis.password}
        )
        return cls(**{**where, "socket_timeout": redis.socket_timeout, **options})

    def __repr__(self) -> str:
        return f"RedisCacheBackend({self.description!r})"

    def _error(self, exc: BaseException) -> CacheBackendError:
        detail = redact_text(str(exc)) or type(exc).__name__
        return CacheBackendError(f"Redis at {self.description}: {detail}")

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except self._errors as exc:
            raise self._error(exc) from exc

    # -- storage --------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        try:
            data: bytes | None = self.client.get(key)
        except self._errors as exc:
            raise self._error(exc) from exc
        return data

    def get_entry(self, key: str) -> Entry | None:
        def both() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(key)
            pipe.pttl(key)
            result: list[Any] = pipe.execute()
            return result

        data, pttl = self._call(both)
        if data is None:
            return None
        return data, (None if pttl is None or pttl < 0 else pttl / 1000)

    def set(self, key: str, data: bytes, ttl: float | None) -> None:
        px = _ttl_ms(ttl)
        try:
            self.client.set(key, data, px=px)
        except self._errors as exc:
            raise self._error(exc) from exc

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        values: list[bytes | None] = self._call(lambda: self.client.mget(wanted))
        return {k: v for k, v in zip(wanted, values, strict=True) if v is not None}

    def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        if not items:
            return
        px = _ttl_ms(ttl)

        def pipeline() -> None:
            pipe = self.client.pipeline(transaction=False)
            if px is None:
                pipe.mset(dict(items))
            else:
                for key, data in items.items():
                    pipe.set(key, data, px=px)
            pipe.execute()

        self._call(pipeline)

    def delete(self, key: str) -> bool:
        return bool(self._call(lambda: self.client.delete(key)))

    def delete_if(self, key: str, data: bytes) -> bool:
        return bool(self._call(lambda: self.client.eval(_DELETE_IF, 1, key, data)))

    def keys(self, pattern: str = "*") -> Iterator[str]:
        compile_glob(pattern)  # refused here exactly as on every other backend
        found = self._call(
            lambda: [k.decode("utf-8", "surrogateescape") for k in self._scan(pattern)]
        )
        return iter(found)

    def _scan(self, pattern: str) -> Iterator[bytes]:
        cursor = 0
        while True:
            cursor, batch = self.client.scan(cursor=cursor, match=pattern, count=_SCAN_COUNT)
            yield from batch
            if cursor == 0:
                return

    def delete_pattern(self, pattern: str) -> int:
        compile_glob(pattern)

        def unlink_batches() -> int:
            removed = 0
            cursor = 0
            while True:
                cursor, batch = self.client.scan(cursor=cursor, match=pattern, count=_SCAN_COUNT)
                if batch:
                    removed += int(self.client.unlink(*batch))
                if cursor == 0:
                    return removed

        return self._call(unlink_batches)

    def bytes_stored(self, prefix: str = "") -> int | None:
        def total() -> int:
            size = 0
            batch: list[bytes] = []
            for key in self._scan(glob_escape(prefix) + "*"):
                batch.append(key)
                if len(batch) >= _SCAN_COUNT:
                    size += self._strlen(batch)
                    batch = []
            return size + (self._strlen(batch) if batch else 0)

        return self._call(total)

    def _strlen(self, keys: list[bytes]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.strlen(key)
        return sum(int(n) for n in pipe.execute())

    def ping(self) -> None:
        self._call(self.client.ping)

    # -- dogpile lock ---------------------------------------------------------------------
    def lock(self, key: str, timeout: float) -> AbstractContextManager[bool]:
        return self._hold(key, timeout)

    @contextmanager
    def _hold(self, key: str, timeout: float) -> Iterator[bool]:
        lock = self.client.lock(
            _LOCK_PREFIX + key,
            timeout=timeout,
            sleep=0.01,
            blocking_timeout=timeout,
            thread_local=True,
            raise_on_release_error=False,
        )
        acquired = bool(self._call(lock.acquire))
        try:
            yield acquired
        finally:
            if acquired:
                # the lock may have lapsed (timeout) or Redis gone away: nothing to undo then
                with suppress(*self._errors):
                    lock.release()

    def close(self) -> None:
        with suppress(*self._errors):
            self.client.close()
            self.client.connection_pool.disconnect()


def _split_credentials(url: str) -> tuple[str, str]:
    """``url`` with its user and password percent-encoded, and the URL without them.

    A password is whatever sits between ``user:`` and the *last* ``@`` before the host, so
    one holding ``@``, ``/``, ``#`` or a space works raw as well as percent-encoded (a URL
    parser would split it and show the pieces in errors as a host name). The password, raw
    and decoded, is registered as a known secret before anything can print it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url, url
    userinfo, _, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not colon:  # redis://secret@host: a password alone
        user, password = "", userinfo
    remember_secret(password)
    remember_secret(unquote(password))
    encoded = quote(unquote(password), safe="")
    login = f"{quote(unquote(user), safe='')}:{encoded}" if user or colon else f":{encoded}"
    return f"{scheme}://{login}@{host}", f"{scheme}://{host}"
