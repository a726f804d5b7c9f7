"""A purpose-built service for fault-matrix tests (stdlib only), started by `command:`.

Each endpoint is a resilience pattern, well or badly done, chosen by the environment:
- GET /call fetches CALLEE_URL/hello with CALL_TIMEOUT seconds (empty: no timeout at all,
  the weakness the latency cell must find); a failure answers 503 at once.
- GET /recommend fetches CALLEE_URL/hello within 0.5 s, and on any failure answers the
  documented fallback {"source": "fallback"} (a working degraded answer).
- POST /pay posts CALLEE_URL/charge and answers 201; with SWALLOW_ERRORS=1 a failed call is
  treated as success (still 201: the weakness only a functional test sees), else 503.
- POST /charge records a charge; GET /charges counts them (the callee's side).
- GET /other fetches OTHER_URL/hello (an edge nothing in the tests uses).
- GET /limited is a rate limit by count, not by clock (so a test of it is deterministic):
  every other request is refused with 429 and Retry-After: 1.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("NAME", "shop")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
CHARGES: list[str] = []
LOCK = threading.Lock()
LIMITED = [0]


def _timeout() -> float | None:
    value = os.environ.get("CALL_TIMEOUT", "")
    return float(value) if value else None


def fetch(base: str, path: str, timeout: float | None, data: bytes | None = None) -> object:
    request = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    # urllib's default is no timeout at all: it waits as long as the callee does.
    response = OPENER.open(request, timeout=timeout) if timeout else OPENER.open(request)
    with response:
        return json.loads(response.read())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/health/ready":
            self._json(200, {"ready": True})
        elif self.path == "/hello":
            self._json(200, {"service": NAME})
        elif self.path == "/charges":
            with LOCK:
                self._json(200, {"count": len(CHARGES)})
        elif self.path == "/call":
            try:
                self._json(200, {"callee": fetch(os.environ["CALLEE_URL"], "/hello", _timeout())})
            except OSError as exc:
                self._json(503, {"error": str(exc)})
        elif self.path == "/recommend":
            try:
                fetch(os.environ["CALLEE_URL"], "/hello", 0.5)
                self._json(200, {"source": "callee", "items": [1, 2, 3]})
            except OSError:
                self._json(200, {"source": "fallback", "items": [1]})
        elif self.path == "/limited":
            with LOCK:
                LIMITED[0] += 1
                refused = LIMITED[0] % 2 == 1
            if refused:
                self._json(429, {"error": "rate limited"}, {"Retry-After": "1"})
            else:
                self._json(200, {"limited": False})
        elif self.path == "/other":
            self._json(200, {"other": fetch(os.environ["OTHER_URL"], "/hello", 1.0)})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        if self.path == "/charge":
            with LOCK:
                CHARGES.append(body.decode())
            self._json(201, {"charged": True})
        elif self.path == "/pay":
            try:
                fetch(os.environ["CALLEE_URL"], "/charge", _timeout() or 2.0, data=body or b"{}")
            except OSError as exc:
                if os.environ.get("SWALLOW_ERRORS") != "1":
                    self._json(503, {"error": str(exc)})
                    return
            self._json(201, {"paid": True})
        else:
            self._json(404, {"error": "not found"})

    def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
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
