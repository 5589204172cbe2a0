"""A real HTTP server on 127.0.0.1 for the API unit tests (started and stopped per test).

``/status/NNN`` answers with that status, ``/redirect`` sends a 302 to ``/pets/1``; every
other path answers 200 with ``{"path": <the request path>}``. Nagle is off on the server's
sockets, as on a real API, so a keep-alive request is not held back 40 ms by delayed ACKs.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        status = 200
        if path.startswith("/status/") and path[8:].isdigit():
            status = int(path[8:])
        payload = json.dumps({"path": self.path}).encode()
        self.send_response(302 if path == "/redirect" else status)
        if path == "/redirect":
            self.send_header("Location", "/pets/1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _any


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
