"""A purpose-built service for chaos tests (stdlib only), started by `command:`.

It speaks plain HTTP with HTML error pages and no OpenAPI, so the game-days run on a fleet
the harness was not written for. Environment: PORT, HOST; NAME; HEALTH_PATH (readiness,
default /health/ready); CALLEE_URL (GET /call fetches CALLEE_URL/hello); CALL_TIMEOUT
(seconds; empty: no timeout at all, the broken resilience a game-day must catch). With a
timeout, a slow or failing callee makes /call answer 503 at once (an HTML page).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("NAME", "mini")
HEALTH = os.environ.get("HEALTH_PATH", "/health/ready")
TIMEOUT = os.environ.get("CALL_TIMEOUT", "")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == HEALTH:
            self._json(200, {"ready": True})
        elif self.path == "/hello":
            self._json(200, {"service": NAME})
        elif self.path == "/call":
            self._call()
        else:
            self._html(404, "<html><body><h1>Not Found</h1></body></html>")

    def _call(self) -> None:
        started = time.perf_counter()
        url = os.environ["CALLEE_URL"] + "/hello"
        try:
            # No timeout: it waits as long as the callee does.
            response = OPENER.open(url, timeout=float(TIMEOUT)) if TIMEOUT else OPENER.open(url)
            with response:
                body = json.loads(response.read())
        except OSError as exc:
            self._html(503, f"<html><body><h1>Service Unavailable</h1>{exc}</body></html>")
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._json(200, {"service": NAME, "callee": body, "elapsed_ms": elapsed_ms})

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/html")

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{NAME}: {format % args}\n")


def main() -> None:
    server = ThreadingHTTPServer(
        (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler
    )
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
