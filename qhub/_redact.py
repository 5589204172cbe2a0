"""Redaction of secrets before anything reaches a log line or a report.

Header and query-parameter names that look secret (Authorization, Cookie, ``*token*``,
``*password*``, ``*secret*``, API keys) have their values replaced by ``<redacted>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def is_secret_name(name: str) -> bool:
    """True when a header, parameter or setting name usually carries a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of ``headers`` with secret values replaced."""
    return {k: (REDACTED if is_secret_name(str(k)) else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """``url`` with user:password and secret-looking query parameters replaced."""
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
    """Free text (log lines, errors) with ``name=value`` secrets and URL passwords hidden."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    return _TEXT_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)
