"""Rate limiting, request building, JSON helpers, validation and config, on real servers."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from qhub._overhead import charged_parts
from qhub.api import BaseAPIClient, client_from_settings
from qhub.config import ApiSettings
from qhub.demo.server import DemoServer
from qhub.exceptions import APIStatusError, ResponseValidationError

pytestmark = pytest.mark.timeout(60)


def _client(url: str, **kwargs: object) -> BaseAPIClient:
    return BaseAPIClient(url, enable_connection_warmup=False, **kwargs)  # type: ignore[arg-type]


def _assert_within_bucket(arrivals: list[float], rate: float, burst: int) -> None:
    """No window of arrivals holds more requests than the bucket allows (+1 for jitter)."""
    arrivals.sort()
    for i in range(len(arrivals)):
        for j in range(i, len(arrivals)):
            allowed = burst + rate * (arrivals[j] - arrivals[i]) + 1
            assert j - i + 1 <= allowed, f"{j - i + 1} requests in {arrivals[j] - arrivals[i]:.3f}s"


class TestRateLimit:
    """Client-side token bucket: 50 requests at 20/s, burst 5, take >= 2.2 s."""

    def test_sequential(self, demo: DemoServer) -> None:
        arrivals: list[float] = []
        demo.on_request(lambda m, p: arrivals.append(time.monotonic()))
        with _client(demo.url, rate_limit=20, rate_burst=5) as api:
            started = time.monotonic()
            for _ in range(50):
                api.get("/health")
            elapsed = time.monotonic() - started
            stats = api.get_pool_stats()
        assert elapsed >= 2.2
        assert len(arrivals) == 50
        _assert_within_bucket(arrivals, 20, 5)
        assert stats["rate_limit_waits"] == 45 and stats["rate_limit"]["burst"] == 5

    def test_threads_share_one_bucket(self, demo: DemoServer) -> None:
        arrivals: list[float] = []
        lock = threading.Lock()

        def record(method: str, path: str) -> None:
            with lock:
                arrivals.append(time.monotonic())

        demo.on_request(record)
        with _client(demo.url, rate_limit=40, rate_burst=4, pool_maxsize=4) as api:
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: api.get("/health"), range(44)))
            elapsed = time.monotonic() - started
        assert elapsed >= 1.0  # 40 requests beyond the burst at 40/s
        _assert_within_bucket(arrivals, 40, 4)


class TestRequestBuilding:
    """The short path builds the same requests as requests.Session would."""

    def test_params_json_and_headers(self, echo: str) -> None:
        with _client(echo, headers={"X-Suite": "qhub"}, auth_token="tok") as api:
            body = api.post(
                "/echo", params={"a": [1, 2], "b": None, "c": "x y"}, json={"n": 1},
                headers={"X-Call": "1", "X-Suite": None},
            ).json()
            plain = requests.post(echo + "/echo", params={"a": [1, 2], "b": None, "c": "x y"},
                                  json={"n": 1}, timeout=5).json()
        assert body["path"] == plain["path"] == "/echo?a=1&a=2&c=x+y"
        assert json.loads(body["body"]) == {"n": 1}
        headers = body["headers"]
        assert headers["content-type"] == "application/json"
        assert headers["authorization"] == "Bearer tok" and headers["x-call"] == "1"
        assert "x-suite" not in headers
        assert headers["content-length"] == plain["headers"]["content-length"]

    def test_params_are_encoded_like_requests(self, echo: str) -> None:
        params = {"b": [1, 2], "c": None, "d": "x y", "e": "\u00e9&="}
        expected = requests.Request("GET", echo + "/echo?a=1", params=params).prepare()
        with _client(echo) as api:
            sent = api.get("/echo?a=1", params=params).json()["path"]
            assert api.stats()["paths"] == {"short": 1, "session": 0}
        assert sent == expected.path_url

    def test_redirects_are_followed_like_requests(self, echo: str) -> None:
        with _client(echo) as api:
            got = api.get("/redirect")
            posted = api.post("/redirect", json={"a": 1})
            head = api.head("/redirect")
        assert got.status_code == 200 and got.json()["path"] == "/echo?from=redirect"
        assert [r.status_code for r in got.history] == [302]
        assert posted.json()["method"] == "GET"  # 303 See Other turns POST into GET
        assert head.status_code == 302

    def test_cookies_persist_across_requests(self, echo: str) -> None:
        with _client(echo) as api:
            api.get("/setcookie")
            assert api.session.cookies.get("sid") == "abc123"
            assert "sid=abc123" in api.get("/echo").json()["headers"]["cookie"]

    def test_endpoints_grouped_by_route(self, demo: DemoServer) -> None:
        with _client(demo.url, latency_budgets_ms={"GET /pets/{id}": 10_000, "GET /x": 1}) as api:
            for i in range(5):
                api.get(f"/pets/{i}?verbose=1")
            api.get("/pets/rex", route="/pets/{name}")
            rows = {r["endpoint"]: r for r in api.endpoint_stats()}
            budgets = api.latency_budget_report()
        assert rows["GET /pets/{id}"]["count"] == 5
        assert rows["GET /pets/{name}"]["count"] == 1
        assert budgets[0]["passed"] is True and budgets[1]["passed"] is None


class TestJsonAndValidation:
    """JSON helpers and schema checks on real responses."""

    def test_json_helpers(self, demo: DemoServer) -> None:
        with _client(demo.url) as api:
            created = api.post_json("/pets", {"name": "rex"})
            assert api.get_json(f"/pets/{created['id']}") == created
            assert api.patch_json(f"/pets/{created['id']}", {"age": 3})["age"] == 3
            assert api.delete_json(f"/pets/{created['id']}") is None
            with pytest.raises(APIStatusError, match="returned 404") as err:
                api.get_json(f"/pets/{created['id']}")
            assert err.value.status_code == 404

    def test_validate_response(self, demo: DemoServer, tmp_path: Path) -> None:
        (tmp_path / "pet.json").write_text(json.dumps({
            "type": "object", "required": ["id", "name"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
        }))
        with _client(demo.url, schemas_dir=tmp_path) as api:
            good = api.post("/pets", json={"name": "rex"})
            bad = api.post("/pets", json={"name": 7})
            for _ in range(1000):
                api.validate_response(good, "pet")
            with pytest.raises(ResponseValidationError, match=r"at \$\.name: 7 is not of type"):
                api.validate_response(bad, "pet")
            api.check_fields(good, required=["id", "name"], allowed=["id", "name"])
            assert api.schemas.compilations == 1

    def test_non_json_body(self, echo: str) -> None:
        with _client(echo) as api, pytest.raises(ResponseValidationError, match="not JSON"):
            api.validate_response(api.get("/text"), Path("/nonexistent.json"))


class TestOverheadIsCharged:
    """What qhub does on its own account (start the client: imports, pools, warm-up;
    compile a schema) runs under ``qhub._overhead.charged``, so the profiler charges it to
    qhub, not to the step that happened to trigger it."""

    def test_start_and_schema_compilations(self, demo: DemoServer, tmp_path: Path) -> None:
        (tmp_path / "pets.json").write_text('{"type": "array"}')
        start, compile_ = "API client 'overhead' start", "JSON Schema compile"
        before = charged_parts()

        def grew(label: str) -> int:
            return charged_parts().get(label, 0) - before.get(label, 0)

        with BaseAPIClient(demo.url, name="overhead", schemas_dir=tmp_path,
                           warmup_connections=1) as api:
            charged_start = grew(start)
            warm_ms = api.stats()["warmup"]["duration_ms"]
            assert charged_start / 1e6 >= warm_ms > 0  # the warm-up is inside the charge
            response = api.get("/pets")
            assert grew(start) == charged_start  # requests are the step's, not qhub's
            assert grew(compile_) == 0
            api.validate_response(response, "pets")
            compiled = grew(compile_)
            assert compiled > 0
            api.validate_response(response, "pets")  # compiled once
            assert grew(compile_) == compiled


class TestSettings:
    """from_config maps every api.* key and resolves paths against root."""

    def test_from_settings(self, demo: DemoServer, tmp_path: Path) -> None:
        (tmp_path / "schemas").mkdir()
        settings = ApiSettings(
            base_url=demo.url + "/", pool_maxsize=3, warmup_connections=2, read_timeout=7,
            retries=1, headers={"X-Key": "v"}, rate_limit=1000, rate_burst=10,
            latency_budgets_ms={"GET /health": 500},
        )
        with client_from_settings(settings, name="billing", root=tmp_path) as api:
            assert api.name == "billing" and api.timeout == (5.0, 7.0)
            assert api.schemas.directory == tmp_path / "schemas"
            assert api.get("/health").request.headers["X-Key"] == "v"
            stats = api.get_pool_stats()
            assert stats is not api.stats() and stats.keys() == api.stats().keys()
            assert stats["pool_maxsize"] == 3 and stats["warmup"]["opened"] == 2
            assert stats["rate_limit"]["rate_per_s"] == 1000
            assert api.latency_budget_report()[0]["passed"] is True
