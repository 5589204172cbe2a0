"""The demo pet store API over HTTPS in its own process, for the reference-suite benchmark.

A trustme CA and a certificate for 127.0.0.1 are written to a folder; the server runs in a
separate Python process (``python -m qhub.demo``) so the behave process under test never
shares its GIL with the server.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """Write ``ca.pem`` and ``server.pem`` (key + chain) into ``folder``; return both paths."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path, server_path = folder / "ca.pem", folder / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_path))
    return ca_path, server_path


class SuiteServer:
    """``python -m qhub.demo`` over HTTPS in a child process, with admin helpers."""

    def __init__(self, tls_dir: Path) -> None:
        self.ca_path, self._server_pem = make_certificates(tls_dir)
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""
        self._tls = ssl.create_default_context(cafile=str(self.ca_path))

    def start(self) -> SuiteServer:
        cmd = [
            sys.executable, "-m", "qhub.demo", "--port", "0",
            "--cert", str(self._server_pem), "--key", str(self._server_pem),
        ]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("https://"):
            self.stop()
            raise RuntimeError(f"demo server did not start (said {line!r})")
        self.url = line
        return self

    def _admin(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self._tls, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def reset(self) -> None:
        """Forget every record, so each timed run starts from the same empty store."""
        self._admin("POST", "/_admin/reset", {})

    def stats(self) -> dict[str, int]:
        """Connections accepted and requests served so far, as the server counted them."""
        result = self._admin("GET", "/_admin/stats")
        assert isinstance(result, dict)
        return result

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            self._proc = None

    def __enter__(self) -> SuiteServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
