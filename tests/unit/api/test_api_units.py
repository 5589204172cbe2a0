"""Unit tests: token bucket on a fake clock, endpoint grouping, percentiles, budgets, URLs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qhub.api import BaseAPIClient, TokenBucket
from qhub.api.endpoints import EndpointStats, budget_report, endpoint_key, route_of
from qhub.exceptions import APIClientError, ConfigError


class FakeClock:
    """Time that moves only when a test (or the bucket's sleep) moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class TestTokenBucket:
    """Token bucket: burst at once, then one token per 1/rate seconds."""

    def test_burst_then_rate(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(20, 5, clock=clock, sleep=clock.sleep)
        waits = [bucket.acquire() for _ in range(50)]
        assert waits[:5] == [0.0] * 5
        assert all(w == pytest.approx(0.05) for w in waits[5:])
        assert clock.now - 100.0 == pytest.approx(45 / 20)
        stats = bucket.stats()
        assert stats["waits"] == 45 and stats["acquired"] == 50
        assert stats["wait_seconds_total"] == pytest.approx(2.25)

    def test_reservations_queue_up_without_sleeping(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(10, 2, clock=clock, sleep=clock.sleep)
        assert [bucket.reserve() for _ in range(5)] == pytest.approx([0, 0, 0.1, 0.2, 0.3])

    def test_idle_time_refills_up_to_burst_only(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(10, 3, clock=clock, sleep=clock.sleep)
        for _ in range(3):
            bucket.acquire()
        clock.now += 60
        assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])

    @pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
    def test_bad_settings(self, rate: float, burst: int) -> None:
        with pytest.raises(ValueError):
            TokenBucket(rate, burst)


class TestEndpoints:
    """Requests grouped by route; IDs collapsed; rows and budgets."""

    @pytest.mark.parametrize(
        ("path", "route"),
        [
            ("/pets/42", "/pets/{id}"),
            ("pets/42?x=1&token=abc", "/pets/{id}"),
            ("/users/7/orders/19#frag", "/users/{id}/orders/{id}"),
            ("/o/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items", "/o/{id}/items"),
            ("http://h:1/api/v1/pets/5?q", "/api/v1/pets/{id}"),
            ("/pets/rex", "/pets/rex"),
            ("/v2/pets", "/v2/pets"),
        ],
    )
    def test_route_of(self, path: str, route: str) -> None:
        assert route_of(path) == route

    def test_route_template_wins(self) -> None:
        assert endpoint_key("get", "/pets/rex", "/pets/{name}") == "GET /pets/{name}"

    def test_rows_and_errors(self) -> None:
        stats = EndpointStats()
        for ms in (1.0, 2.0, 3.0, 4.0):
            stats.record("GET /a", ms, 200)
        stats.record("GET /a", 10.0, 503)
        stats.record("POST /b", 5.0, None)
        rows = stats.rows()
        assert [r["endpoint"] for r in rows] == ["GET /a", "POST /b"]
        assert rows[0]["count"] == 5 and rows[0]["errors"] == 1
        assert rows[0]["mean_ms"] == 4.0 and rows[0]["p50_ms"] == 3.0
        assert rows[0]["statuses"] == {"200": 4, "503": 1}
        assert rows[1]["errors"] == 1

    def test_budget_report(self) -> None:
        stats = EndpointStats()
        for i in range(100):
            stats.record("GET /pets/{id}", float(i), 200)
            stats.record("PUT /pets/{id}", 500.0, 200)
        report = budget_report(
            {"GET /pets/{id}": 150, "get /pets/{id}": 10, "/pets/{id}": 100, "DELETE /x": 5},
            stats,
        )
        assert [(r["endpoint"], r["passed"]) for r in report] == [
            ("GET /pets/{id}", True),
            ("GET /pets/{id}", False),
            ("/pets/{id}", False),
            ("DELETE /x", None),
        ]
        assert report[0]["p95_ms"] == pytest.approx(94.05) and report[0]["count"] == 100
        assert report[2]["count"] == 200


class TestClientBasics:
    """URL joining, settings validation, lazy import."""

    @pytest.mark.parametrize(
        ("base", "path", "url"),
        [
            ("http://h:1", "/pets", "http://h:1/pets"),
            ("http://h:1/", "pets", "http://h:1/pets"),
            ("http://h:1/api/v1/", "/pets/2", "http://h:1/api/v1/pets/2"),
            ("http://h:1/api", "", "http://h:1/api"),
            ("http://h:1/api", "?q=1", "http://h:1/api?q=1"),
            ("http://h:1/api", "https://other/x", "https://other/x"),
        ],
    )
    def test_url_for(self, base: str, path: str, url: str) -> None:
        with BaseAPIClient(base, enable_connection_warmup=False) as api:
            assert api.url_for(path) == url

    def test_no_base_url(self) -> None:
        with BaseAPIClient(None) as api:
            assert api.get_pool_stats()["warmup"]["enabled"] is False
            with pytest.raises(APIClientError, match="no base_url"):
                api.get("/pets")

    def test_closed_client_refuses(self) -> None:
        api = BaseAPIClient("http://127.0.0.1:9", enable_connection_warmup=False)
        api.close()
        api.close()
        with pytest.raises(APIClientError, match="closed"):
            api.get("/x")

    def test_bad_settings(self) -> None:
        with pytest.raises(ConfigError, match=r"api.connect_timeout=0 \(from APIClient\(\)\)"):
            BaseAPIClient("http://h", connect_timeout=0, enable_connection_warmup=False)
        with BaseAPIClient("http://h", enable_connection_warmup=False) as api:
            with pytest.raises(ConfigError, match="pool_maxsize"):
                api.configure_pool_settings(pool_maxsize=0)

    def test_import_is_light(self) -> None:
        code = (
            "import sys, qhub.api; heavy = [m for m in ('requests', 'urllib3', 'jsonschema') "
            "if m in sys.modules]; print(heavy)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == "[]"
