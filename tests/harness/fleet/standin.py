"""A stand-in service for lifecycle tests: a few lines of stdlib, started like a real one.

Environment: PORT, HOST (as the harness sets them); NAME; CALLEE_URL (optional: GET /call
fetches CALLEE_URL/hello and reports how long it took); DEPENDS (optional, comma-separated
variable names whose URLs must accept TCP connections for /readyz to answer 200);
NEVER_READY=1 (readiness always 503); EXIT_AT_START=<code> (exit immediately).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

NAME = os.environ.get("NAME", "standin")
# Loopback only: ignore any http_proxy of the machine running the tests.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=0.5):
            return True
    except OSError:
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/readyz":
            names = [n for n in os.environ.get("DEPENDS", "").split(",") if n]
            down = [n for n in names if not _reachable(os.environ[n])]
            ready = not down and os.environ.get("NEVER_READY") != "1"
            self._reply(200 if ready else 503, {"ready": ready, "down": down})
        elif self.path == "/hello":
            self._reply(200, {"service": NAME})
        elif self.path == "/call":
            started = time.perf_counter()
            with OPENER.open(os.environ["CALLEE_URL"] + "/hello", timeout=10) as r:
                body = json.loads(r.read())
            elapsed_ms = (time.perf_counter() - started) * 1000
            self._reply(200, {"service": NAME, "callee": body, "elapsed_ms": elapsed_ms})
        else:
            self._reply(404, {"detail": "not found"})

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{NAME}: {format % args}\n")


def main() -> None:
    if "EXIT_AT_START" in os.environ:
        print(f"{NAME}: exiting at start as asked", flush=True)
        sys.exit(int(os.environ["EXIT_AT_START"]))
    server = ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler)
    print(f"{NAME}: listening on {os.environ['HOST']}:{os.environ['PORT']}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
