"""The demo REST API: stdlib only, HTTP/1.1 keep-alive, optional TLS, fault injection.

It counts the TCP connections it accepts, so tests can compare what a client *says* it
opened with what the server *saw*. ``TCP_NODELAY`` is set on every accepted socket:
without it, keep-alive answers stall ~40 ms each (Nagle + delayed ACK).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COLLECTIONS = ("pets", "users", "orders")
_ITEM = re.compile(r"^/(pets|users|orders)/(\d+)$")
_LIST = re.compile(r"^/(pets|users|orders)$")


class _Store:
    """In-memory records, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, dict[int, dict[str, Any]]] = {c: {} for c in _COLLECTIONS}
        self.next_id = 1

    def reset(self) -> None:
        with self.lock:
            self.items = {c: {} for c in _COLLECTIONS}
            self.next_id = 1


class _Faults:
    """Failures the server injects, set through ``POST /_admin/faults`` or attributes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fail_next = 0
        self.fail_status = 503
        self.stall_next = 0
        self.stall_seconds = 0.0
        self.drop_next = 0
        self.close_every = 0

    def take(self, name: str) -> bool:
        with self.lock:
            left = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered writes: headers and body leave in one segment (one TLS record), flushed by
    # BaseHTTPRequestHandler after each request, instead of two writes per response.
    wbufsize = 1 << 16
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._served = 0
        self._raw = b""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any = None, close: bool = False) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        """Consume the request body, so a keep-alive connection stays in sync."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _body(self) -> Any:
        raw = self._raw
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return None

    def _dispatch(self) -> None:
        srv = self.server
        with srv.stats_lock:
            srv.requests += 1
        self._served += 1
        self._raw = self._read_body()
        faults = srv.faults
        if faults.take("drop_next"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if faults.take("stall_next"):
            time.sleep(faults.stall_seconds)
        if faults.take("fail_next"):
            self._send(faults.fail_status, {"error": "injected failure"})
            return
        close = bool(faults.close_every and self._served % faults.close_every == 0)
        path = self.path.split("?", 1)[0]
        if srv.on_request is not None:
            srv.on_request(self.command, path)
        handler: Callable[[str], tuple[int, Any]] = getattr(
            self, f"_{self.command.lower()}", lambda _p: (405, {"error": "method not allowed"})
        )
        status, body = handler(path)
        self._send(status, body, close=close)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def _head(self, path: str) -> tuple[int, Any]:
        return 200, None

    def _get(self, path: str) -> tuple[int, Any]:
        srv = self.server
        if path in ("/", "/health"):
            return 200, {"status": "ok"}
        if path == "/_admin/stats":
            return 200, srv.stats()
        store = srv.store
        if m := _LIST.match(path):
            with store.lock:
                return 200, list(store.items[m[1]].values())
        if m := _ITEM.match(path):
            with store.lock:
                item = store.items[m[1]].get(int(m[2]))
            return (200, item) if item else (404, {"error": f"{m[1][:-1]} {m[2]} not found"})
        return 404, {"error": f"no route {path}"}

    def _post(self, path: str) -> tuple[int, Any]:
        srv = self.server
        body = self._body()
        if path == "/_admin/reset":
            srv.store.reset()
            return 204, None
        if path == "/_admin/faults":
            with srv.faults.lock:
                for key, value in (body or {}).items():
                    if hasattr(srv.faults, key) and key != "lock":
                        setattr(srv.faults, key, value)
            return 204, None
        m = _LIST.match(path)
        if not m:
            return 404, {"error": f"no route {path}"}
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        problem = self._check(m[1], body)
        if problem:
            return 422, {"error": problem}
        store = srv.store
        with store.lock:
            item = {**body, "id": store.next_id}
            store.items[m[1]][store.next_id] = item
            store.next_id += 1
        return 201, item

    def _check(self, collection: str, body: dict[str, Any]) -> str | None:
        required = {"pets": ("name",), "users": ("email",), "orders": ("user_id", "pet_id")}
        for name in required[collection]:
            if name not in body:
                return f"field '{name}' is required"
        if collection == "orders":
            store = self.server.store
            with store.lock:
                if body["user_id"] not in store.items["users"]:
                    return f"user {body['user_id']} does not exist"
                if body["pet_id"] not in store.items["pets"]:
                    return f"pet {body['pet_id']} does not exist"
        return None

    def _put(self, path: str) -> tuple[int, Any]:
        return self._update(path, replace=True)

    def _patch(self, path: str) -> tuple[int, Any]:
        return self._update(path, replace=False)

    def _update(self, path: str, replace: bool) -> tuple[int, Any]:
        m = _ITEM.match(path)
        body = self._body()
        if not m:
            return 404, {"error": f"no route {path}"}
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        store = self.server.store
        with store.lock:
            current = store.items[m[1]].get(int(m[2]))
            if current is None:
                return 404, {"error": f"{m[1][:-1]} {m[2]} not found"}
            item = {**({} if replace else current), **body, "id": int(m[2])}
            store.items[m[1]][int(m[2])] = item
        return 200, item

    def _delete(self, path: str) -> tuple[int, Any]:
        m = _ITEM.match(path)
        if not m:
            return 404, {"error": f"no route {path}"}
        store = self.server.store
        with store.lock:
            gone = store.items[m[1]].pop(int(m[2]), None)
        return (204, None) if gone else (404, {"error": f"{m[1][:-1]} {m[2]} not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], tls: ssl.SSLContext | None) -> None:
        super().__init__(address, _Handler)
        self.tls = tls
        self.store = _Store()
        self.faults = _Faults()
        self.stats_lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.open_connections = 0
        self.on_request: Callable[[str, str], None] | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self.stats_lock:
            self.connections += 1
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.stats_lock:
            self.open_connections += 1
        try:
            if isinstance(request, ssl.SSLSocket):
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    self.shutdown_request(request)
                    return
            super().process_request_thread(request, client_address)
        finally:
            with self.stats_lock:
                self.open_connections -= 1

    def stats(self) -> dict[str, int]:
        with self.stats_lock:
            return {
                "connections_accepted": self.connections,
                "connections_open": self.open_connections,
                "requests": self.requests,
            }


class DemoServer:
    """Run the demo API on a free 127.0.0.1 port in a background thread.

    >>> with DemoServer() as api:          # doctest: +SKIP
    ...     requests.get(api.url + "/pets")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        tls = None
        if certfile:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(certfile, keyfile)
        self._server = _Server((host, port), tls)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._server.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def faults(self) -> _Faults:
        """Fault-injection knobs (``fail_next``, ``stall_next``, ``drop_next``, ...)."""
        return self._server.faults

    def stats(self) -> dict[str, int]:
        """Connections accepted and requests served, as the server saw them."""
        return self._server.stats()

    def on_request(self, callback: Callable[[str, str], None] | None) -> None:
        """Call ``callback(method, path)`` for every request (e.g. to record arrival times)."""
        self._server.on_request = callback

    def reset(self) -> None:
        self._server.store.reset()

    def start(self) -> DemoServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
