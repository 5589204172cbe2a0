"""Connection counts: what the client reports equals what the server accepted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from qhub.api import BaseAPIClient
from qhub.demo.server import DemoServer

pytestmark = pytest.mark.timeout(60)


def _hold_until(demo: DemoServer, parties: int) -> threading.Barrier:
    """Make the server keep each request until ``parties`` requests are in flight at once."""
    barrier = threading.Barrier(parties, timeout=15)
    demo.on_request(lambda method, path: barrier.wait() if path == "/pets" else None)
    return barrier


class TestConnectionCounting:
    """connections_created is counted where urllib3 opens sockets and matches the server."""

    def test_500_sequential_requests_use_one_connection(self, demo: DemoServer) -> None:
        with BaseAPIClient(demo.url, enable_connection_warmup=False) as api:
            for i in range(500):
                assert api.get(f"/pets/{i}").status_code == 404
            stats = api.get_pool_stats()
        assert demo.stats()["connections_accepted"] == 1
        assert stats["connections_created"] == 1
        assert stats["requests"] == 500
        assert stats["connections_reused"] == 499
        assert stats["hit_rate_percent"] == 99.8
        host = stats["hosts"][f"http://127.0.0.1:{demo.port}"]
        assert host["connections_created"] == 1 and host["requests_sent"] == 500

    def test_8_threads_with_maxsize_8_open_at_most_8(self, demo: DemoServer) -> None:
        with BaseAPIClient(demo.url, pool_maxsize=8, enable_connection_warmup=False) as api:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda i: api.get("/health").status_code, range(800)))
            stats = api.get_pool_stats()
        assert statuses == [200] * 800
        accepted = demo.stats()["connections_accepted"]
        assert 1 <= accepted <= 8
        assert stats["connections_created"] == accepted
        assert stats["requests"] == 800
        assert stats["connections_reused"] == 800 - accepted
        assert stats["pool_full_events"] == 0

    def test_pool_block_never_exceeds_maxsize(self, demo: DemoServer) -> None:
        with BaseAPIClient(
            demo.url, pool_maxsize=2, pool_block=True, enable_connection_warmup=False
        ) as api:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda i: api.get("/health").status_code, range(400)))
            stats = api.get_pool_stats()
        assert statuses == [200] * 400
        accepted = demo.stats()["connections_accepted"]
        assert accepted <= 2
        assert stats["connections_created"] == accepted
        assert stats["pool_full_events"] == 0

    def test_non_blocking_pool_opens_extras_and_counts_discards(self, demo: DemoServer) -> None:
        """8 requests held in flight at once against maxsize 2: 8 sockets, 6 discarded."""
        _hold_until(demo, 8)
        with BaseAPIClient(demo.url, pool_maxsize=2, enable_connection_warmup=False) as api:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda i: api.get("/pets").status_code, range(8)))
            stats = api.get_pool_stats()
        assert statuses == [200] * 8
        assert demo.stats()["connections_accepted"] == 8
        assert stats["connections_created"] == 8
        assert stats["pool_full_events"] == 6
        host = next(iter(stats["hosts"].values()))
        assert host["idle_connections"] == 2 and host["maxsize"] == 2

    def test_server_closing_keepalive_is_counted_as_new_connections(
        self, demo: DemoServer
    ) -> None:
        demo.faults.close_every = 3
        with BaseAPIClient(demo.url, enable_connection_warmup=False) as api:
            for _ in range(9):
                assert api.get("/health").status_code == 200
            stats = api.get_pool_stats()
        assert demo.stats()["connections_accepted"] == 3
        assert stats["connections_created"] == 3
        assert stats["connections_reused"] == 6


class TestReconfigure:
    """configure_pool_settings rebuilds pools, closes old sockets, keeps statistics."""

    def test_old_sockets_close_and_stats_survive(
        self, demo: DemoServer, until: Callable[..., bool]
    ) -> None:
        _hold_until(demo, 4)
        api = BaseAPIClient(demo.url, pool_maxsize=4, enable_connection_warmup=False)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: api.get("/pets"), range(4)))
        demo.on_request(None)
        assert demo.stats()["connections_open"] == 4
        api.configure_pool_settings(pool_connections=3, pool_maxsize=6)
        assert until(lambda: demo.stats()["connections_open"] == 0)
        stats = api.get_pool_stats()
        assert stats["requests"] == 4 and stats["connections_created"] == 4
        assert stats["pool_maxsize"] == 6 and stats["pool_connections"] == 3
        assert stats["reconfigurations"] == 1
        assert api.get("/health").status_code == 200
        assert api.get_pool_stats()["connections_created"] == 5
        assert demo.stats()["connections_accepted"] == 5
        api.close()
        assert until(lambda: demo.stats()["connections_open"] == 0)

    def test_reconfigure_while_threads_request(self, demo: DemoServer) -> None:
        api = BaseAPIClient(demo.url, pool_maxsize=4, enable_connection_warmup=False)
        errors: list[BaseException] = []

        def work(_: int) -> int:
            try:
                return int(api.get("/health").status_code)
            except BaseException as exc:
                errors.append(exc)
                raise

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(work, i) for i in range(600)]
            for size in (2, 8, 3, 5):
                api.configure_pool_settings(pool_maxsize=size)
            statuses = [f.result() for f in futures]
        api.close()
        assert not errors
        assert statuses == [200] * 600
        stats = api.get_pool_stats()
        assert stats["requests"] == 600 and stats["reconfigurations"] == 4
        assert stats["connections_created"] == demo.stats()["connections_accepted"]


class TestWarmup:
    """Warm-up pre-opens connections that the first requests reuse."""

    def test_warmup_opens_n_connections_concurrently(self, demo: DemoServer) -> None:
        with BaseAPIClient(demo.url, warmup_connections=4, warmup_path="/health") as api:
            assert demo.stats()["connections_accepted"] == 4
            warm = api.get_pool_stats()["warmup"]
            assert warm["ok"] and warm["opened"] == 4 and warm["error"] is None
            assert warm["path"] == "/health"
            _hold_until(demo, 4)
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: api.get("/pets"), range(4)))
            stats = api.get_pool_stats()
        assert demo.stats()["connections_accepted"] == 4
        assert stats["connections_created"] == 4
        assert stats["requests"] == 4 and stats["connections_reused"] == 4
        assert stats["hit_rate_percent"] == 100.0

    def test_warmup_is_capped_by_pool_maxsize(self, demo: DemoServer) -> None:
        with BaseAPIClient(demo.url, pool_maxsize=3, warmup_connections=10) as api:
            assert api.stats()["warmup"]["opened"] == 3
            assert api.stats()["warmup"]["attempted"] == 3
            assert api.warm_up()["opened"] == 0  # all 3 are open and idle already
            assert api.get_pool_stats()["pool_full_events"] == 0
        assert demo.stats()["connections_accepted"] == 3

    def test_server_down_is_reported_not_raised(
        self, port_factory: Callable[[], int], capfd: pytest.CaptureFixture[str]
    ) -> None:
        api = BaseAPIClient(f"http://127.0.0.1:{port_factory()}", warmup_connections=2)
        warm = api.get_pool_stats()["warmup"]
        assert warm["ok"] is False and warm["opened"] == 0
        assert "refused" in warm["error"].lower()
        api.close()
        line = capfd.readouterr().err.strip().splitlines()
        assert len(line) == 1 and line[0].startswith("qhub: warning: API 'default' warm-up")
