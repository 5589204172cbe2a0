"""Turn requests/urllib3 transport exceptions into one-line qhub errors (secrets redacted)."""

from __future__ import annotations

from qhub._redact import redact_text, redact_url
from qhub.exceptions import APIClientError, APIConnectionError, APITimeoutError


def _root_cause(exc: BaseException) -> BaseException:
    """Dig through requests' wrapper and urllib3's MaxRetryError to the real cause."""
    from urllib3.exceptions import MaxRetryError

    seen = 0
    current: BaseException = exc
    while seen < 6:
        seen += 1
        if isinstance(current, MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        inner = current.args[0] if current.args else None
        if isinstance(inner, BaseException) and type(current).__module__.startswith("requests"):
            current = inner
            continue
        break
    return current


def translate(
    exc: BaseException, method: str, url: str, timeout: tuple[float, float], retries: int
) -> APIClientError | None:
    """The qhub error for a transport failure, or None when ``exc`` is not one."""
    import requests
    from urllib3 import exceptions as u3

    transport = (requests.RequestException, u3.HTTPError, OSError)
    if not isinstance(exc, transport):
        return None
    cause = _root_cause(exc)
    where = f"{method} {redact_url(url)}"
    detail = redact_text(str(cause)) or type(cause).__name__
    tries = f" (retries={retries})"
    if isinstance(cause, u3.NewConnectionError):  # a ConnectTimeoutError subclass in urllib3
        return APIConnectionError(f"{where}: could not connect: {detail}{tries}")
    if isinstance(cause, (u3.ConnectTimeoutError, requests.ConnectTimeout)):
        return APITimeoutError(f"{where}: connect timed out after {timeout[0]:g} s{tries}")
    if isinstance(cause, (u3.ReadTimeoutError, requests.ReadTimeout, TimeoutError)):
        return APITimeoutError(
            f"{where}: no response within the read timeout of {timeout[1]:g} s{tries}"
        )
    if isinstance(cause, (u3.SSLError, requests.exceptions.SSLError)) or "SSL" in type(
        cause
    ).__name__:
        return APIConnectionError(f"{where}: TLS failed: {detail}")
    if isinstance(cause, u3.EmptyPoolError):
        return APITimeoutError(
            f"{where}: no free pooled connection in time (api.pool_block is on and all "
            f"api.pool_maxsize connections stayed busy)"
        )
    if isinstance(cause, u3.ResponseError):
        return APIClientError(f"{where}: gave up: {detail}")
    if isinstance(cause, (u3.ProtocolError, ConnectionError)) or "Disconnected" in detail:
        hint = "" if method in _IDEMPOTENT else f" ({method} is not retried: not idempotent)"
        return APIConnectionError(f"{where}: connection dropped by the server: {detail}{hint}")
    return APIConnectionError(f"{where}: {type(cause).__name__}: {detail}")


_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
