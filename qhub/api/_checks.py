"""What the config layer's type and range checks cannot know about API settings.

Run when a client is created (at ``install()``, before any step): a header name with a
newline, a base URL that is not ``http(s)://host``, a status code that cannot exist would
otherwise pass validation and break the run at the first request, or worse (a newline in
a header *value* is a header-injection attempt). Each problem is one
:class:`~qhub.exceptions.ConfigError` line naming the setting and where it came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from qhub._redact import redact_text
from qhub.exceptions import ConfigError

if TYPE_CHECKING:
    from qhub.config import ApiSettings

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
"""An HTTP field name (RFC 9110 §5.1: a token), at most 256 characters."""
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters not allowed in a field value (horizontal tab is allowed)."""
_MAX_VALUE = 16384


def _shown(value: object) -> str:
    """``repr`` of a value (a newline in it stays visible, on one line), secrets hidden."""
    text = redact_text(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


def check_settings(
    settings: ApiSettings,
    key: Callable[[str], str],
    origin: Callable[[str], str],
) -> None:
    """Raise :class:`ConfigError` for the first setting that cannot work.

    ``key(field)`` gives the dotted name (``api.headers``, ``apis.billing.headers``) and
    ``origin(dotted)`` where its value came from.
    """

    def fail(field: str, problem: str) -> NoReturn:
        name = key(field)
        raise ConfigError(f"{name} (from {origin(name)}): {problem}")

    if settings.base_url is not None:
        _check_url(settings.base_url, lambda why: fail("base_url", why))
    for name, value in settings.headers.items():
        if not _TOKEN.fullmatch(name):
            fail("headers", f"header name {_shown(name)} is not a valid HTTP field name "
                            "(letters, digits and !#$%&'*+.^_`|~-, at most 256)")
        if _CONTROL.search(value) or len(value) > _MAX_VALUE:
            fail("headers", f"header {name} has a value with a line break or control "
                            f"character, or longer than {_MAX_VALUE} characters")
    token = settings.auth_token
    if token is not None and (not token.strip() or _CONTROL.search(token) or " " in token):
        fail("auth_token", "must be one word without spaces, line breaks or control "
                           "characters (it is sent as 'Authorization: Bearer <token>')")
    for status in settings.retry_statuses:
        if not 100 <= status <= 599:
            fail("retry_statuses", f"{status} is not an HTTP status (100-599)")
    for endpoint, budget in settings.latency_budgets_ms.items():
        if not endpoint.strip() or not endpoint.isprintable():
            fail("latency_budgets_ms", f"endpoint {_shown(endpoint)} must be printable text, "
                                       "e.g. 'GET /pets/{id}'")
        if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
            fail("latency_budgets_ms", f"budget of {endpoint} must be a number of ms > 0")
    path = settings.warmup_path
    if not path.startswith("/") or not path.isprintable() or " " in path:
        fail("warmup_path", f"{_shown(path)} must be a path starting with '/', "
                            "without spaces or control characters")
    for field in ("ca_bundle", "schemas_dir"):
        value = getattr(settings, field)
        if value is not None and ("\x00" in value or not value.strip()):
            fail(field, f"{_shown(value)} is not a usable path")


def _check_url(url: str, fail: Callable[[str], NoReturn]) -> None:
    if not url.isprintable() or any(ch.isspace() for ch in url):
        fail(f"{_shown(url)} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        fail(f"{_shown(url)} is not a URL ({exc})")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"{_shown(url)} must start with http:// or https:// and name a host")
    if port == 0:
        fail(f"{_shown(url)} has port 0")
    if parts.fragment:
        fail(f"{_shown(url)} must not have a #fragment")
