"""Request observers (``qhub.api.observe_requests``) against a real server on 127.0.0.1.

Each logical request is observed exactly once, by the short path and by the Session, with
its endpoint, status and exception; an observer that raises breaks nothing and is reported
once; registrations end with their block and survive many threads coming and going.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from qhub._warn import reset_once
from qhub.api import APIClient, observe_requests
from qhub.api import observe as observe_module
from qhub.exceptions import APIClientError

Seen = list[tuple[str, float, "int | None", "BaseException | None"]]


class Recorder:
    """An observer that keeps every call (thread-safe: list.append is atomic)."""

    def __init__(self) -> None:
        self.seen: Seen = []

    def __call__(
        self, endpoint: str, service_ms: float, status: int | None, error: BaseException | None
    ) -> None:
        self.seen.append((endpoint, service_ms, status, error))

    def calls(self) -> list[tuple[str, int | None]]:
        return [(endpoint, status) for endpoint, _, status, _ in self.seen]


@pytest.fixture(autouse=True)
def _no_leftover_observers() -> Iterator[None]:
    reset_once()
    assert observe_module.observers == ()
    yield
    assert observe_module.observers == ()


def _client(url: str, **kwargs: Any) -> APIClient:
    return APIClient(url, enable_connection_warmup=False, **kwargs)


EXPECTED = [("GET /pets/{id}", 200), ("GET /pets/{id}", 200), ("POST /pets", 200),
            ("DELETE /pets/{id}", 200), ("GET /status/{id}", 503)]  # fmt: skip


def _traffic(api: APIClient) -> None:
    api.get("/pets/1")
    api.get("/pets/2", params={"q": "x"})
    api.post("/pets", json={"name": "rex"})
    api.delete("/pets/1")
    api.get("/status/503")


class TestOncePerRequest:
    @pytest.mark.parametrize(("short_path", "path"), [(True, "short"), (False, "session")])
    def test_every_request_once_with_its_endpoint_and_status(
        self, echo_url: str, short_path: bool, path: str
    ) -> None:
        recorder = Recorder()
        with _client(echo_url, short_path=short_path) as api, observe_requests(recorder):
            _traffic(api)
            paths = api.stats()["paths"]
        assert recorder.calls() == EXPECTED
        assert paths[path] == len(EXPECTED) and sum(paths.values()) == len(EXPECTED)
        assert all(service_ms > 0 and error is None for _, service_ms, _, error in recorder.seen)

    def test_a_request_sent_through_the_session_by_a_short_path_client(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url) as api, observe_requests(recorder):
            api.get("/pets/1")  # short path
            api.get("/pets/2", stream=True)  # not plain: through the Session
            paths = api.stats()["paths"]
        assert paths == {"short": 1, "session": 1}
        assert recorder.calls() == [("GET /pets/{id}", 200), ("GET /pets/{id}", 200)]

    @pytest.mark.parametrize("short_path", [True, False])
    def test_a_followed_redirect_is_one_request(self, echo_url: str, short_path: bool) -> None:
        recorder = Recorder()
        with _client(echo_url, short_path=short_path) as api, observe_requests(recorder):
            response = api.get("/redirect")
        assert response.status_code == 200 and len(response.history) == 1
        assert recorder.calls() == [("GET /redirect", 200)]

    def test_the_same_observations_as_the_endpoint_statistics(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url) as api:
            with observe_requests(recorder):
                for i in range(20):
                    api.get(f"/items/{i}", route="/items/{n}")
            rows = api.endpoint_stats()
        assert [(r["endpoint"], r["count"]) for r in rows] == [("GET /items/{n}", 20)]
        assert {key for key, _ in recorder.calls()} == {"GET /items/{n}"}
        observed = sorted(ms for _, ms, _, _ in recorder.seen)
        assert rows[0]["max_ms"] == round(observed[-1], 3)  # no rate limit: the same times

    def test_the_rate_limiters_wait_is_part_of_the_observed_time(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url, rate_limit=50, rate_burst=1) as api, observe_requests(recorder):
            for _ in range(4):
                api.get("/pets/1")
            waited_ms = api.stats()["rate_limit"]["wait_seconds_total"] * 1000.0
            row = api.endpoint_stats()[0]
        assert waited_ms > 0
        observed_ms = sum(ms for _, ms, _, _ in recorder.seen)
        sent_ms = row["mean_ms"] * row["count"]  # the transport's time alone
        assert observed_ms - sent_ms == pytest.approx(waited_ms, abs=0.01)


class TestErrors:
    def test_no_response_passes_the_exception(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed once the block ends: nobody listens
        recorder = Recorder()
        with _client(f"http://127.0.0.1:{port}", retries=0) as api, observe_requests(recorder):
            with pytest.raises(APIClientError) as raised:
                api.get("/pets/1")
        assert len(recorder.seen) == 1
        endpoint, _, status, error = recorder.seen[0]
        assert (endpoint, status) == ("GET /pets/{id}", None)
        assert error is raised.value

    def test_an_error_status_is_a_status_not_an_exception(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url) as api, observe_requests(recorder):
            api.get("/status/404")
        assert [(s, e) for _, _, s, e in recorder.seen] == [(404, None)]


class TestFailingObserver:
    def test_the_request_stands_and_it_is_said_once(
        self, echo_url: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        def broken(*args: Any) -> None:
            raise RuntimeError("observer bug")

        recorder = Recorder()
        with _client(echo_url) as api, observe_requests(broken), observe_requests(recorder):
            first = api.get("/pets/1")
            second = api.get("/pets/2")
        assert first.status_code == second.status_code == 200
        assert len(recorder.seen) == 2  # observers after the broken one still hear everything
        lines = [line for line in capfd.readouterr().err.splitlines() if "observer" in line]
        assert len(lines) == 1, lines
        assert "broken raised RuntimeError: observer bug" in lines[0]
        assert lines[0].startswith("qhub: warning:")

    def test_an_error_of_the_request_is_not_replaced(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        def broken(*args: Any) -> None:
            raise ValueError("observer bug")

        with _client("http://127.0.0.1:9", retries=0) as api, observe_requests(broken):
            with pytest.raises(APIClientError):
                api.get("/x")
        assert "broken raised ValueError" in capfd.readouterr().err


class TestRegistration:
    def test_unregistered_after_the_block_even_when_it_raises(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url) as api:
            with pytest.raises(KeyError), observe_requests(recorder):
                api.get("/pets/1")
                raise KeyError("leave")
            api.get("/pets/2")
        assert recorder.calls() == [("GET /pets/{id}", 200)]
        assert observe_module.observers == ()

    def test_the_same_callback_twice_and_nested_blocks(self, echo_url: str) -> None:
        recorder = Recorder()
        with _client(echo_url) as api, observe_requests(recorder):
            with observe_requests(recorder):
                api.get("/a")
            api.get("/b")  # the inner registration is gone, the outer one stays
        assert recorder.calls() == [("GET /a", 200), ("GET /a", 200), ("GET /b", 200)]

    def test_threads_register_and_observe_at_once(self, echo_url: str) -> None:
        """8 threads each register an observer, all request, all leave: every observer
        heard every request made while all were registered; none is left behind."""
        threads, per_thread = 8, 25
        recorders = [Recorder() for _ in range(threads)]
        registered, done = threading.Barrier(threads), threading.Barrier(threads)
        failures: list[BaseException] = []
        with _client(echo_url, pool_maxsize=threads) as api:

            def work(n: int) -> None:
                try:
                    with observe_requests(recorders[n]):
                        registered.wait()
                        for i in range(per_thread):
                            api.get(f"/t/{n}/{i}")
                        done.wait()
                except BaseException as exc:  # reported below, not lost in the thread
                    failures.append(exc)

            pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
        assert failures == []
        for recorder in recorders:
            assert len(recorder.seen) == threads * per_thread
            assert {key for key, _ in recorder.calls()} == {"GET /t/{id}/{id}"}

    def test_registration_churn_loses_nothing(self) -> None:
        threads, rounds = 8, 500
        failures: list[str] = []
        start = threading.Barrier(threads)

        def churn(n: int) -> None:
            start.wait()
            for i in range(rounds):

                def mine(*args: Any) -> None:
                    return None

                with observe_requests(mine):
                    if not any(r[0] is mine for r in observe_module.observers):
                        failures.append(f"thread {n} round {i}: registration lost")

        pool = [threading.Thread(target=churn, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert failures == []
        assert observe_module.observers == ()
