"""The redaction engine the API client feeds: every secret spelling in the table, in every
place it appears (URL query, ``name=value`` text, header lines, JSON), the known-secret
forms, and names that must *not* be redacted."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from qhub._redact import (
    REDACTED,
    SECRET_NAMES,
    forget_secrets,
    is_secret_name,
    redact_snippet,
    redact_text,
    redact_url,
    remember_secret,
    scrub_known,
)

VALUE = "s3cr3tV4lue9"


@pytest.fixture(autouse=True)
def _clean_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def _variants(name: str) -> list[str]:
    """The spelling from the table and the ones other clients use for the same name."""
    words = name.replace("-", "_").split("_")
    return sorted({
        name,
        name.lower(),
        name.upper(),
        "_".join(words).lower(),
        "-".join(words),
        words[0].lower() + "".join(w.capitalize() for w in words[1:]),
    })


class TestSecretNameTable:
    """Each name from real APIs is secret in every spelling and every place."""

    @pytest.mark.parametrize("name", sorted(SECRET_NAMES))
    def test_name_is_secret_in_every_spelling(self, name: str) -> None:
        for spelling in _variants(name):
            assert is_secret_name(spelling), spelling

    @pytest.mark.parametrize("name", sorted(SECRET_NAMES))
    def test_query_parameter(self, name: str) -> None:
        url = f"https://api.example.test/v1/items?page=2&{quote(name)}={VALUE}&sort=asc"
        shown = redact_url(url)
        assert VALUE not in shown and "page=2" in shown and "sort=asc" in shown, shown

    @pytest.mark.parametrize("name", sorted(SECRET_NAMES))
    @pytest.mark.parametrize("template", [
        "{name}={value}",
        "GET /x?{name}={value}&a=1",
        "{name}: {value}",
        "{name}: Bearer {value}",
        '{{"{name}": "{value}"}}',
        "{{'{name}': '{value}'}}",
        "error: {name}={value}, retrying",
    ])
    def test_free_text(self, name: str, template: str) -> None:
        text = template.format(name=name, value=VALUE)
        shown = redact_text(text)
        assert VALUE not in shown and REDACTED in shown, shown

    @pytest.mark.parametrize("name", [
        "page", "sort", "Content-Type", "Accept", "X-Request-Id", "cache_key", "primary_key",
        "public_key", "Idempotency-Key", "monkey", "keyword", "token_type", "pass_rate",
        "passed", "session_timeout", "author", "KeyError", "TokenExpiredError",
        "AssertionError", "status", "scenario", "step",
    ])
    def test_ordinary_names_are_left_alone(self, name: str) -> None:
        assert not is_secret_name(name)
        assert redact_text(f"{name}={VALUE}") == f"{name}={VALUE}"
        url = f"https://h/x?{name}={VALUE}"
        assert redact_url(url) == url

    def test_a_secret_pair_behind_an_ordinary_one_is_found(self) -> None:
        shown = redact_text(f"note: password={VALUE} https://h/p?next=/x&api_key={VALUE}")
        assert VALUE not in shown and shown.count(REDACTED) == 2


class TestOtherShapes:
    """Credentials in URL user-info and secrets recognisable by their shape."""

    @pytest.mark.parametrize(("url", "expected"), [
        ("https://user:pw-123456@h/x", f"https://user:{REDACTED}@h/x"),
        ("https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r",
         f"https://{REDACTED}@github.com/o/r"),
        ("https://sk_test_4eC39HqLyjWDarjtT1zdp7dc:@api.stripe.com/v1",
         f"https://{REDACTED}:@api.stripe.com/v1"),
        ("redis://:p@ss@word@127.0.0.1:6379/0", f"redis://:{REDACTED}@127.0.0.1:6379/0"),
        ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
    ])
    def test_user_info(self, url: str, expected: str) -> None:
        assert redact_url(url) == expected
        assert redact_text(f"cannot reach {url} now") == f"cannot reach {expected} now"

    @pytest.mark.parametrize("secret", [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "ghp_" + "a1B2" * 9,
        "github_pat_" + "A1b2_" * 10,
        "xoxb-1234567890-abcdefghijkl",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"[:35],
        "AKIAIOSFODNN7EXAMPLE",
    ])
    def test_token_shapes(self, secret: str) -> None:
        shown = redact_text(f"the server said: invalid credential {secret} (code 17)")
        assert secret not in shown and "(code 17)" in shown, shown

    def test_telegram_bot_token_in_a_path(self) -> None:
        token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
        shown = redact_url(f"https://api.telegram.org/bot{token}/getMe")
        assert token not in shown and shown.endswith("/getMe")

    def test_private_key_block(self) -> None:
        block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----"
        assert "MIIEow" not in redact_text(f"key:\n{block}\nafter")


class TestKnownSecrets:
    """A remembered secret is scrubbed in every form a server or a report gives it."""

    SECRET = "tok/5ecret+\u00e9&<9>"

    @pytest.mark.parametrize("form", [
        lambda s: s,
        lambda s: quote(s, safe=""),
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: json.dumps(s)[1:-1],
        lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
        lambda s: s.replace("/", "\\/"),
        lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    ])
    def test_every_form_is_scrubbed(self, form: object) -> None:
        remember_secret(self.SECRET)
        shown = form(self.SECRET)  # type: ignore[operator]
        assert scrub_known(f"body: {shown} end") == f"body: {REDACTED} end"

    def test_user_password_pair_and_its_basic_auth_form(self) -> None:
        remember_secret("alice:pw-778899")
        basic = base64.b64encode(b"alice:pw-778899").decode()
        assert redact_text(f"you sent {basic}") == f"you sent {REDACTED}"

    def test_short_values_are_not_remembered(self) -> None:
        remember_secret("abc")
        assert scrub_known("abc abc") == "abc abc"

    def test_a_secret_straddling_the_cut_leaves_nothing_readable(self) -> None:
        remember_secret("tok-5ecret-2222-zzzz")
        text = "x" * 190 + "tok-5ecret-2222-zzzz" + "y" * 50
        snippet = redact_snippet(text, 200)
        assert len(snippet) == 200 and "tok-5ec" not in snippet and "5ecr" not in snippet
