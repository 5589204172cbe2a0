"""Redaction of secrets before anything reaches a log line, an error or a report.

Two layers, applied to everything qhub writes (errors, logs, reports, history):

- the secrets qhub *knows* (configured tokens, secret headers, passwords, credentials in
  URLs), registered with :func:`remember_secret` by whoever reads them, are replaced wherever
  they appear, in any text, also in the encoded forms a server or a report may give them
  (URL-encoded, base64, JSON- and HTML-escaped);
- generic rules for secrets qhub was never told about: a ``name=value`` / ``name: value``
  pair whose name is a secret's name (the table :data:`SECRET_NAMES` comes from real APIs'
  parameter and header names), credentials in a URL's user-info, and a few token formats
  that are secret by their shape (JWTs, GitHub/Slack/Stripe/Google keys).

Every pattern runs in linear time: a match may only start where a name or token starts
(a look-behind that fails at once inside a word) and no quantifier can backtrack into
another, so a 100,000-character word costs what reading it costs.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "<redacted>"

SECRET_NAMES: dict[str, str] = {
    # name (as spelled in the wild) -> where it is used that way
    "Authorization": "HTTP (RFC 9110 §11.6.2)",
    "Proxy-Authorization": "HTTP (RFC 9110 §11.7.2)",
    "Cookie": "HTTP (RFC 6265)",
    "Set-Cookie": "HTTP (RFC 6265)",
    "access_token": "OAuth 2.0 bearer token in a query (RFC 6750 §2.3); GitLab, Facebook",
    "refresh_token": "OAuth 2.0 (RFC 6749 §6)",
    "id_token": "OpenID Connect",
    "client_secret": "OAuth 2.0 client password (RFC 6749 §2.3.1)",
    "client_assertion": "OAuth 2.0 JWT client authentication (RFC 7523)",
    "oauth_token": "OAuth 1.0a",
    "oauth_signature": "OAuth 1.0a",
    "token": "Slack Web API (legacy), many others",
    "api_key": "Datadog, SendGrid and many others",
    "apikey": "OMDb, Alpha Vantage",
    "apiKey": "NewsAPI",
    "api-key": "Azure AI Search header",
    "api_token": "Pipedrive",
    "key": "Google Maps / Google APIs (`?key=`)",
    "signature": "Google Maps URL signing; AWS Signature Version 2",
    "sig": "Azure Storage shared access signature (`&sig=`)",
    "auth": "Firebase Realtime Database REST (`?auth=`)",
    "private_token": "GitLab (`?private_token=`)",
    "PRIVATE-TOKEN": "GitLab header",
    "X-Api-Key": "Amazon API Gateway, many others",
    "X-Auth-Token": "OpenStack Keystone",
    "X-Vault-Token": "HashiCorp Vault",
    "X-Goog-Api-Key": "Google Cloud APIs",
    "X-Shopify-Access-Token": "Shopify Admin API",
    "X-RapidAPI-Key": "RapidAPI",
    "X-Algolia-API-Key": "Algolia (header and query parameter)",
    "Ocp-Apim-Subscription-Key": "Azure API Management",
    "subscription-key": "Azure API Management (query parameter)",
    "DD-API-KEY": "Datadog",
    "DD-APPLICATION-KEY": "Datadog",
    "Circle-Token": "CircleCI",
    "X-Postmark-Server-Token": "Postmark",
    "X-CSRF-Token": "CSRF protection (Rails, Django's X-CSRFToken)",
    "X-XSRF-TOKEN": "CSRF protection (Angular)",
    "X-Amz-Signature": "AWS Signature Version 4 presigned URL",
    "X-Amz-Credential": "AWS Signature Version 4 presigned URL",
    "X-Amz-Security-Token": "AWS temporary credentials",
    "AWSAccessKeyId": "AWS Signature Version 2 presigned URL",
    "X-Goog-Signature": "Google Cloud Storage V4 signed URL",
    "X-Goog-Credential": "Google Cloud Storage V4 signed URL",
    "appsecret_proof": "Facebook Graph API",
    "app_secret": "Facebook and many others",
    "access_key": "ipstack, Mailgun-style APIs",
    "secret_key": "many",
    "user_key": "3scale",
    "app_key": "3scale",
    "sentry_key": "Sentry (`?sentry_key=`)",
    "X-Sentry-Auth": "Sentry",
    "password": "everywhere",
    "passwd": "Unix heritage",
    "pwd": "ODBC connection strings (`PWD=`), legacy forms",
    "pass": "legacy forms",
    "passphrase": "key files, PKCS#12",
    "session_id": "web sessions",
    "sessionid": "Django",
    "PHPSESSID": "PHP",
    "JSESSIONID": "Java servlets",
    "jwt": "many",
    "ticket": "CAS single sign-on (`?ticket=ST-...`)",
    "credentials": "many",
    "hmac": "webhook signatures",
}
"""The secret parameter and header names the generic rules are tested against, with where
each is used. Matching is by *word* (``X-Api-Key`` -> x, api, key), so spellings in other
cases and separators (``apiKey``, ``API_KEY``, ``x-api-key``) match too."""

_STRONG_WORDS = frozenset({
    "password", "passwd", "passphrase", "secret", "credential", "credentials", "apikey",
    "authorization",
})
"""A name containing one of these words anywhere is secret (``password_confirmation``)."""

_LAST_WORDS = frozenset({
    "auth", "authtoken", "token", "pwd", "pass", "sig", "signature", "cookie", "session",
    "sessionid", "phpsessid", "jsessionid", "jwt", "ticket", "hmac", "bearer", "csrf",
    "csrftoken", "xsrf", "accesskeyid",
})
"""A name whose *last* word is one of these is secret (``refresh_token``, ``?sig=``), while
``token_type`` or ``pass_rate`` are not."""

_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey", "signature",
                    "credential", "credentials", "sessionid", "sessid", "accesskeyid")
"""A last word written as one lower-case word ending in one of these is secret too
(``accesstoken``, ``xapikey``)."""

_KEY_PREFIXES = frozenset({
    "api", "access", "secret", "private", "app", "application", "user", "client",
    "subscription", "auth", "sentry", "consumer", "master", "signing", "encryption",
    "session", "license", "dev", "developer", "admin",
})
"""``key`` is secret alone (Google's ``?key=``) or after one of these (``X-Api-Key``,
``access_key``, ``accesskey``); ``cache_key``, ``primary_key`` and ``monkey`` are not."""

_KEY_GLUED = ("api", "access", "secret", "private", "auth")

_JOINED = frozenset({"appsecretproof", "clientassertion", "samlresponse"})
"""Whole names (words joined) that are secret although their last word is not."""

_NOT_SECRET_LAST = frozenset({"error", "errors", "exception", "warning"})
"""``KeyError: 'x'`` and ``TokenExpiredError: ...`` are error messages, not secrets."""

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a header, parameter or setting name usually carries a secret.

    The name is split into words (separators and camelCase); see :data:`SECRET_NAMES` for
    the spellings this is tested against. Linear in the length of ``name``.
    """
    words = [w.lower() for w in _WORD.findall(name[:256])]
    while words and words[-1].isdigit():  # X-Hub-Signature-256
        words.pop()
    if not words or words[-1] in _NOT_SECRET_LAST:
        return False
    if _STRONG_WORDS.intersection(words) or "".join(words) in _JOINED:
        return True
    last = words[-1]
    before = words[-2] if len(words) > 1 else None
    if last in _LAST_WORDS or last.endswith(_SECRET_SUFFIXES):
        return True
    if last == "id" and before is not None:  # session_id, AWSAccessKeyId
        last, before = before, words[-3] if len(words) > 2 else None
        if last == "session":
            return True
    if last == "key":  # X-RAPIDAPI-KEY: a prefix glued to another word counts too
        return before is None or before in _KEY_PREFIXES or before.endswith(_KEY_GLUED)
    return last.endswith("key") and last[:-3] in _KEY_PREFIXES


# Look-behinds make every match start where a name/token starts; bounded, non-overlapping
# classes keep each attempt linear. See the module docstring.
_NAME_SEP = re.compile(
    r"(?<![\w.\-])(?P<name>[A-Za-z_][\w.\-]{0,127})(?P<sep>[\"']?[ \t]*[:=][ \t]*[\"']?)"
)
_VALUE = re.compile(
    r"(?:(?:Bearer|Basic|Token|Digest)[ \t]+)?[^\s\"'&,;<>]+", re.IGNORECASE
)
_URL_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.\-])(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{0,31}://)"
    r"(?P<user>[^:/@\s]{0,256})(?::(?P<pw>[^/\s]{0,1024}))?@"
)
_TOKEN_SHAPES = re.compile(
    "|".join((
        r"(?<![\w\-])eyJ[\w\-]{8,4096}\.eyJ[\w\-]{2,16384}\.[\w\-]{8,4096}",  # JWT
        r"(?<![\w\-])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_\w{30,255})",  # GitHub
        r"(?<![\w\-])xox[abprse]-[A-Za-z0-9\-]{10,255}",  # Slack
        r"(?<![\w\-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,255}",  # Stripe secret keys
        r"(?<![\w\-])AIza[\w\-]{35}(?![\w\-])",  # Google API key
        r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",  # AWS access key ID
        r"(?<=/bot)[0-9]{5,16}:[\w\-]{30,64}",  # Telegram bot token in a URL path
    ))
)
_SHAPE_HINTS = (
    "eyJ", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "sk_live_",
    "sk_test_", "rk_live_", "rk_test_", "AIza", "AKIA", "ASIA", "/bot",
)
"""Each token shape starts with one of these: text without any skips the shapes' scan."""
_NAME_HINTS = (
    "auth", "token", "pass", "pwd", "secret", "key", "sig", "cookie", "sess", "jwt",
    "ticket", "hmac", "bearer", "csrf", "xsrf", "credential", "assertion", "saml",
)
"""Every secret name contains one of these (lower-cased): text without any has no secret
``name=value`` pair, and skips that scan. Most text qhub writes (step names, paths) has
none."""
_SHAPE_HINT = re.compile("|".join(map(re.escape, _SHAPE_HINTS)))
_NAME_HINT = re.compile("|".join(map(re.escape, _NAME_HINTS)))
"""The hints above as one pattern each: one scan of the text in C, not one per hint."""
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=\s]{0,65536}?-----END [A-Z ]{0,40}"
    r"PRIVATE KEY-----"
)

_MIN_SECRET_LEN = 4
"""Shorter values are not remembered: replacing them everywhere would mangle ordinary text."""

_known: tuple[str, ...] = ()
_longest = 0
_known_lock = threading.Lock()


def _forms(value: str) -> set[str]:
    """``value`` as it may appear in written text: raw, URL-encoded, base64, escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    forms.add(base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii"))
    forms.add(json.dumps(value)[1:-1])  # JSON body (escaped quotes, \uXXXX)
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(value.replace("/", "\\/"))  # PHP's json_encode
    forms.add(html.escape(value))  # HTML reports
    if value.lower().startswith(("bearer ", "basic ", "token ")):
        forms |= _forms(value.split(" ", 1)[1].strip())
    return forms


def remember_secret(value: object) -> None:
    """Scrub ``value`` (and its encoded forms) from everything written from now on.

    Called by the config loader for every setting marked secret, by clients for their
    tokens and secret headers, and by backends for passwords in URLs. Values shorter than
    4 characters are ignored.
    """
    global _known, _longest
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LEN:
        return
    forms = {f for f in _forms(value) if len(f) >= _MIN_SECRET_LEN}
    with _known_lock:
        if forms <= set(_known):
            return
        merged = set(_known) | forms
        _known = tuple(sorted(merged, key=len, reverse=True))
        _longest = len(_known[0])


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
    global _known, _longest
    with _known_lock:
        _known = ()
        _longest = 0


def scrub_known(text: str) -> str:
    """``text`` with every remembered secret replaced by ``<redacted>`` (linear per secret)."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


_MAX_SCRUB_DEPTH = 256
"""Deeper than any JSON encoder qhub uses accepts (orjson stops at 255 levels)."""


def scrub_known_in(value: Any, _depth: int = 0) -> Any:
    """A JSON-like ``value`` (dicts, lists, strings, numbers) with :func:`scrub_known`
    applied to every string, keys included: a copy where anything changed, ``value`` itself
    when no secret is known. Levels beyond any JSON encoder's limit are left as they are
    (the encoder refuses them anyway)."""
    if not _known or _depth > _MAX_SCRUB_DEPTH:
        return value
    if isinstance(value, str):
        return scrub_known(value)
    if isinstance(value, dict):
        return {
            scrub_known(k) if isinstance(k, str) else k: scrub_known_in(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub_known_in(v, _depth + 1) for v in value]
    return value


def _userinfo(match: re.Match[str]) -> str:
    user, pw = match["user"], match["pw"]
    if pw:  # user:password@ -> keep the user name for readability
        return f"{match['scheme']}{user}:{REDACTED}@"
    if pw is not None or len(user) >= 8:  # "key:@" (Stripe) or "token@" (GitHub)
        return f"{match['scheme']}{REDACTED}{':' if pw is not None else ''}@"
    return match[0]


def _userinfo_sub(text: str) -> str:
    if "://" not in text or "@" not in text:
        return text
    return _URL_USERINFO.sub(_userinfo, text)


def _shapes(text: str) -> str:
    if _SHAPE_HINT.search(text) is None:
        return text
    return _TOKEN_SHAPES.sub(REDACTED, text)


def _redact_pairs(text: str) -> str:
    """Replace the value of every ``name=value`` / ``name: value`` whose name is secret.

    Only ``name`` + separator is matched by the scan, so a pair whose name is not secret
    never hides a secret pair behind it (``note: password=x``, ``https://h?key=x``).
    """
    if _NAME_HINT.search(text.lower()) is None:
        return text
    out: list[str] = []
    pos = 0
    for match in _NAME_SEP.finditer(text):
        if match.start() < pos or not is_secret_name(match["name"]):
            continue
        value = _VALUE.match(text, match.end())
        if value is None:
            continue
        out += (text[pos : match.end()], REDACTED)
        pos = value.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def redact_url(url: str) -> str:
    """``url`` with known secrets, user-info credentials and secret query values replaced."""
    url = _shapes(_userinfo_sub(scrub_known(url)))
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL after all: treat it as text
        return _redact_pairs(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_name(k) for k, _ in pairs):
        return url
    query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs], safe="<>")
    return urlunsplit(parts._replace(query=query))


def redact_text(text: str) -> str:
    """Free text (log lines, errors, echoed bodies) with known secrets, secret
    ``name=value`` / ``name: value`` pairs, URL credentials and token-shaped secrets hidden."""
    text = _userinfo_sub(scrub_known(text))
    if "PRIVATE KEY" in text:
        text = _PRIVATE_KEY.sub(REDACTED, text)
    return _redact_pairs(_shapes(text))


def redact_snippet(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, redacted *before* cutting, so that a
    secret straddling the cut cannot leave a readable half behind."""
    window = text[: limit + _longest + 64]
    return redact_text(window)[:limit]
