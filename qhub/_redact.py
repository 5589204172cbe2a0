"""Redaction of secrets before anything reaches a log line or a report.

Two layers, applied to everything qhub writes (errors, logs, reports, history):

- the secrets qhub *knows* (configured tokens, secret headers, passwords, credentials in
  URLs), registered with :func:`remember_secret` by whoever reads them, are replaced wherever
  they appear, in any text;
- generic patterns: header and query-parameter names that look secret (Authorization,
  Cookie, ``*token*``, ``*password*``, ``*secret*``, API keys) have their values replaced.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import (
    parse_qsl,
    quote,
    quote_plus,
    unquote,
    urlencode,
    urlsplit,
    urlunsplit,
)

REDACTED = "<redacted>"

_SECRET_NAME = re.compile(
    r"(authorization|cookie|token|password|passwd|secret|api[-_]?key|session|credential)",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@", re.I
)
_TEXT_PAIR = re.compile(
    r"(?P<name>[A-Za-z0-9_-]*(?:authorization|token|password|passwd|secret|api[-_]?key|cookie)"
    r"[A-Za-z0-9_-]*)(?P<sep>\"?\s*[:=]\s*\"?)(?P<value>(?:Bearer\s+|Basic\s+)?[^\s\"&,;]+)",
    re.IGNORECASE,
)


_MIN_SECRET_LEN = 4
"""Shorter values are not remembered: replacing them everywhere would mangle ordinary text."""

_known: tuple[str, ...] = ()
_known_lock = threading.Lock()


def remember_secret(value: object) -> None:
    """Scrub ``value`` (and its URL-encoded and Basic-auth forms) from everything written.

    Called by the config loader for every setting marked secret, by clients for their
    tokens and secret headers, and by backends for passwords in URLs.
    """
    global _known
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LEN:
        return
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    forms.add(base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii"))
    if value.lower().startswith(("bearer ", "basic ", "token ")):
        forms.add(value.split(" ", 1)[1].strip())
    forms = {f for f in forms if len(f) >= _MIN_SECRET_LEN}
    with _known_lock:
        merged = set(_known) | forms
        _known = tuple(sorted(merged, key=len, reverse=True))


def remember_url_secrets(url: str) -> None:
    """Remember the password (and a token-like user name) in a URL's user-info part."""
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:
        return
    if password:
        remember_secret(password)
        remember_secret(unquote(password))
    elif username and not parts.port and len(username) >= 16:
        remember_secret(username)  # token-as-user, e.g. https://<token>@host/


def forget_secrets() -> None:
    """Drop every remembered secret (tests, or a new session in the same process)."""
    global _known
    with _known_lock:
        _known = ()


def scrub_known(text: str) -> str:
    """``text`` with every remembered secret replaced by ``<redacted>`` (linear per secret)."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def is_secret_name(name: str) -> bool:
    """True when a header, parameter or setting name usually carries a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of ``headers`` with secret values replaced."""
    return {k: (REDACTED if is_secret_name(str(k)) else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """``url`` with user:password and secret-looking query parameters replaced."""
    url = scrub_known(url)
    url = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", url)
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_name(k) for k, _ in pairs):
        return url
    query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="<>")
    return urlunsplit(parts._replace(query=query))


def redact_text(text: str) -> str:
    """Free text (log lines, errors) with known secrets, ``name=value`` secrets and URL
    passwords hidden."""
    text = scrub_known(text)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    return _TEXT_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)
