"""Retries, timeouts, dropped connections, TLS and redaction against real servers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from qhub.api import BaseAPIClient
from qhub.demo.server import DemoServer
from qhub.exceptions import APIConnectionError, APITimeoutError, ConfigError

pytestmark = pytest.mark.timeout(60)


def _client(url: str, **kwargs: object) -> BaseAPIClient:
    kwargs.setdefault("backoff_factor", 0.01)
    return BaseAPIClient(url, enable_connection_warmup=False, **kwargs)  # type: ignore[arg-type]


class TestRetries:
    """urllib3 Retry as configured: idempotent methods, statuses, connection errors."""

    def test_503_then_200_is_retried(self, demo: DemoServer) -> None:
        demo.faults.fail_next = 2
        with _client(demo.url, retries=3) as api:
            response = api.get("/health")
            stats = api.get_pool_stats()
        assert response.status_code == 200
        assert demo.stats()["requests"] == 3
        assert stats["retries"] == 2 and stats["requests"] == 1 and stats["requests_sent"] == 3

    def test_retries_exhausted_returns_last_status(self, demo: DemoServer) -> None:
        demo.faults.fail_next = 5
        with _client(demo.url, retries=1) as api:
            assert api.get("/health").status_code == 503
            assert api.endpoint_stats()[0]["errors"] == 1
        assert demo.stats()["requests"] == 2

    def test_post_is_not_retried_on_503(self, demo: DemoServer) -> None:
        demo.faults.fail_next = 1
        with _client(demo.url, retries=3) as api:
            assert api.post("/pets", json={"name": "rex"}).status_code == 503
        assert demo.stats()["requests"] == 1

    def test_dropped_connection_is_retried_for_get(self, demo: DemoServer) -> None:
        demo.faults.drop_next = 1
        with _client(demo.url, retries=2) as api:
            assert api.get("/health").status_code == 200
            stats = api.get_pool_stats()
        assert stats["connections_created"] == demo.stats()["connections_accepted"] == 2

    def test_dropped_connection_fails_post_clearly(self, demo: DemoServer) -> None:
        demo.faults.drop_next = 1
        with _client(demo.url, retries=2) as api, pytest.raises(APIConnectionError) as err:
            api.post("/pets", json={"name": "rex"})
        assert "POST" in str(err.value) and "not idempotent" in str(err.value)
        assert demo.stats()["requests"] == 1

    def test_connection_refused(self, port_factory: Callable[[], int]) -> None:
        with _client(f"http://127.0.0.1:{port_factory()}", retries=1) as api:
            with pytest.raises(APIConnectionError, match="could not connect"):
                api.get("/health")
            assert api.get_pool_stats()["failed_requests"] == 1
            assert api.endpoint_stats()[0]["errors"] == 1


class TestTimeouts:
    """A server stalling past the read timeout: retried or a clear error, never a hang."""

    def test_stall_is_retried_within_budget(self, demo: DemoServer) -> None:
        demo.faults.stall_seconds = 1.0
        demo.faults.stall_next = 1
        with _client(demo.url, read_timeout=0.2, retries=1) as api:
            assert api.get("/health").status_code == 200
        assert demo.stats()["requests"] == 2

    def test_stall_without_retries_raises_timeout(self, demo: DemoServer) -> None:
        demo.faults.stall_seconds = 1.0
        demo.faults.stall_next = 1
        with _client(demo.url, read_timeout=0.2, retries=0) as api:
            with pytest.raises(APITimeoutError, match=r"read timeout of 0.2 s"):
                api.get("/health")

    def test_none_timeout_means_default_not_infinite(self, demo: DemoServer) -> None:
        demo.faults.stall_seconds = 1.0
        demo.faults.stall_next = 1
        with _client(demo.url, read_timeout=0.2, retries=0) as api:
            with pytest.raises(APITimeoutError):
                api.get("/health", timeout=None)

    def test_per_request_timeout(self, demo: DemoServer) -> None:
        demo.faults.stall_seconds = 1.0
        demo.faults.stall_next = 1
        with _client(demo.url, read_timeout=30, retries=0) as api:
            with pytest.raises(APITimeoutError, match=r"0\.2 s"):
                api.get("/health", timeout=(1, 0.2))


class TestTLS:
    """HTTPS on 127.0.0.1 with a trustme certificate: verification on by default."""

    def test_ca_bundle_verifies_and_pools(self, tls_demo: DemoServer, tls_files: Any) -> None:
        with _client(tls_demo.url, ca_bundle=tls_files.ca) as api:
            for _ in range(50):
                assert api.get("/health").status_code == 200
            stats = api.get_pool_stats()
        assert tls_demo.stats()["connections_accepted"] == 1
        assert stats["connections_created"] == 1 and stats["connections_reused"] == 49

    def test_unknown_ca_is_rejected(
        self, tls_demo: DemoServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        with _client(tls_demo.url, retries=0) as api:
            with pytest.raises(APIConnectionError, match="TLS failed"):
                api.get("/health")

    def test_requests_ca_bundle_is_honoured(
        self, tls_demo: DemoServer, tls_files: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))
        with _client(tls_demo.url) as api:
            assert api.get("/health").status_code == 200

    def test_configured_bundle_wins_over_environment(
        self, tls_demo: DemoServer, tls_files: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        with _client(tls_demo.url, ca_bundle=tls_files.ca) as api:
            assert api.get("/health").status_code == 200
            assert api.session.get(tls_demo.url + "/health", verify=str(tls_files.ca)).ok

    def test_verify_false(self, tls_demo: DemoServer) -> None:
        with _client(tls_demo.url, verify=False) as api:
            assert api.get("/health").status_code == 200

    def test_missing_bundle_is_a_config_error(self, tls_demo: DemoServer) -> None:
        with pytest.raises(ConfigError, match="ca_bundle"):
            _client(tls_demo.url, ca_bundle="/nonexistent/ca.pem")


class TestRedaction:
    """Tokens in headers and query strings never reach log records or error messages."""

    def test_logs_and_errors_hide_secrets(
        self, demo: DemoServer, caplog: pytest.LogCaptureFixture, port_factory: Callable[[], int]
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with _client(demo.url, auth_token="sekrit-bearer") as api:
            api.get("/health", params={"api_token": "sekrit-query", "page": 2})
            demo.faults.fail_next = 1
            api.get("/health?password=sekrit-pw")
        with _client(f"http://user:sekrit-userinfo@127.0.0.1:{port_factory()}", retries=0) as down:
            with pytest.raises(APIConnectionError) as err:
                down.get("/x?access_token=sekrit-err")
            assert "sekrit" not in repr(down) and "sekrit" not in str(down.get_pool_stats())
        text = caplog.text + str(err.value)
        assert "page=2" in caplog.text  # the query string is logged, minus secrets
        assert "sekrit" not in text


class TestPerCallTimeouts:
    """A per-call timeout longer than the total deadline is cut to it (1e300 used to
    overflow the socket timer with an ``OverflowError``)."""

    @pytest.mark.parametrize("timeout", [1e300, (1e300, None), (None, 1e300)])
    def test_huge_per_call_timeout(self, demo: DemoServer, timeout: Any) -> None:
        with BaseAPIClient(demo.url, enable_connection_warmup=False, total_timeout=60) as api:
            assert api.get("/health", timeout=timeout).status_code == 200
