"""A real Toxiproxy server (from the shared local infra) and a tiny real HTTP upstream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.faults.toxiproxy import Proxy, ToxiproxyClient
from harness.infra.base import Endpoint
from harness.infra.local import LocalProvider
from harness.infra.ports import free_port


class _Handler(BaseHTTPRequestHandler):
    """GET /bytes/N answers N bytes; anything else answers "ok"."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        size = int(self.path.split("/")[-1]) if self.path.startswith("/bytes/") else 0
        body = b"x" * size if size else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest output is for failures."""


@pytest.fixture(scope="session")
def upstream() -> Iterator[Endpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="upstream-http", daemon=True)
    thread.start()
    try:
        yield Endpoint("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def toxiproxy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our own server, not the suite-wide one: these tests reset() and delete every proxy."""
    provider = LocalProvider(tmp_path_factory.mktemp("faults-infra"))
    try:
        yield provider.toxiproxy().api_url
    finally:
        provider.close()


@pytest.fixture
def client(toxiproxy_api: str) -> Iterator[ToxiproxyClient]:
    """A client on the shared server; every proxy is deleted after the test."""
    with ToxiproxyClient(toxiproxy_api) as toxiproxy:
        try:
            yield toxiproxy
        finally:
            for name in toxiproxy.proxies():
                toxiproxy.delete_proxy(name)


@pytest.fixture
def proxy(client: ToxiproxyClient, upstream: Endpoint) -> Proxy:
    """orders -> payments, with the HTTP upstream playing payments."""
    return client.create_proxy("orders__payments", f"127.0.0.1:{free_port()}", upstream.address)
