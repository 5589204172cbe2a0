"""The bundled demo API: CRUD, keep-alive, connection counting and fault injection."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from qhub.demo import DemoServer


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


def call(
    conn: http.client.HTTPConnection, method: str, path: str, body: object = None
) -> tuple[int, object]:
    payload = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    return response.status, (json.loads(raw) if raw else None)


class TestDemoServer:
    """Behaviour the example suite, tests and benchmarks rely on."""

    def test_crud_over_one_keep_alive_connection(self, demo: DemoServer) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", demo.port)
        assert call(conn, "POST", "/pets", {"name": "Rex"}) == (201, {"name": "Rex", "id": 1})
        assert call(conn, "PATCH", "/pets/1", {"species": "dog"})[1] == {
            "name": "Rex",
            "species": "dog",
            "id": 1,
        }
        assert call(conn, "PUT", "/pets/1", {"name": "Max"})[1] == {"name": "Max", "id": 1}
        assert call(conn, "GET", "/pets") == (200, [{"name": "Max", "id": 1}])
        assert call(conn, "DELETE", "/pets/1") == (204, None)
        assert call(conn, "GET", "/pets/1")[0] == 404
        conn.close()
        assert demo.stats()["connections_accepted"] == 1
        assert demo.stats()["requests"] == 6

    def test_orders_validate_references(self, demo: DemoServer) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", demo.port)
        user = call(conn, "POST", "/users", {"email": "a@example.com"})[1]
        pet = call(conn, "POST", "/pets", {"name": "Rex"})[1]
        assert isinstance(user, dict) and isinstance(pet, dict)
        status, _order = call(conn, "POST", "/orders", {"user_id": user["id"], "pet_id": pet["id"]})
        assert status == 201
        assert call(conn, "POST", "/orders", {"user_id": 99, "pet_id": pet["id"]}) == (
            422,
            {"error": "user 99 does not exist"},
        )
        assert call(conn, "POST", "/users", {"name": "no email"})[0] == 422
        assert call(conn, "POST", "/pets", [1, 2])[0] == 400

    def test_injected_failures(self, demo: DemoServer) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", demo.port)
        assert call(conn, "POST", "/_admin/faults", {"fail_next": 2})[0] == 204
        assert [call(conn, "GET", "/health")[0] for _ in range(3)] == [503, 503, 200]
        demo.faults.drop_next = 1
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            call(conn, "GET", "/health")
        conn.close()
        fresh = http.client.HTTPConnection("127.0.0.1", demo.port)
        assert call(fresh, "GET", "/health")[0] == 200
        assert demo.stats()["connections_accepted"] == 2

    def test_close_every_n_requests(self, demo: DemoServer) -> None:
        demo.faults.close_every = 2
        conn = http.client.HTTPConnection("127.0.0.1", demo.port)
        for _ in range(4):
            assert call(conn, "GET", "/health")[0] == 200
        assert demo.stats()["connections_accepted"] == 2

    def test_request_callback_sees_method_and_path(self, demo: DemoServer) -> None:
        seen: list[tuple[str, str]] = []
        demo.on_request(lambda method, path: seen.append((method, path)))
        conn = http.client.HTTPConnection("127.0.0.1", demo.port)
        call(conn, "GET", "/pets?limit=3")
        assert seen == [("GET", "/pets")]


def test_injected_failure_consumes_the_body(demo: DemoServer) -> None:
    """A failed POST must not leave its body on the keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", demo.port)
    demo.faults.fail_next = 1
    assert call(conn, "POST", "/pets", {"name": "Rex" * 100})[0] == 503
    assert call(conn, "POST", "/pets", {"name": "Max"}) == (201, {"name": "Max", "id": 1})
    assert demo.stats()["connections_accepted"] == 1
