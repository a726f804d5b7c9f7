"""A real HTTP downstream on 127.0.0.1: uvicorn in a thread, a free port, counted hits."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from types import TracebackType

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.sample_services.conftest import eventually

# Long enough to outlast any client timeout in these tests, short enough that a test that
# forgets to release cannot hang the run.
HOLD_LIMIT = 10.0


class Downstream:
    """Answers `/status/{code}` with that code, holds `/hold` until released; counts hits.

    Handlers are plain `def`s, so each call holds one of uvicorn's worker threads, the way a
    slow real service holds a connection.
    """

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.app = FastAPI()
        methods = ["GET", "POST", "PUT", "DELETE"]

        @self.app.api_route("/status/{code}", methods=methods)
        def status(code: int, request: Request) -> Response:
            self._record(request)
            return JSONResponse({"status": code}, status_code=code)

        @self.app.api_route("/hold", methods=methods)
        def hold(request: Request) -> Response:
            self._record(request)
            self.release.wait(HOLD_LIMIT)
            return JSONResponse({"held": True})

    def _record(self, request: Request) -> None:
        with self._lock:
            self.hits[request.url.path] += 1
            self.headers.append({k.lower(): v for k, v in request.headers.items()})

    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())


class LiveServer:
    """Serves an app on a free 127.0.0.1 port for the duration of a `with` block."""

    def __init__(self, app: FastAPI) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        eventually(lambda: self.server.started, timeout=10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        assert not self._thread.is_alive(), "the test server did not stop"


def refused_url() -> str:
    """A 127.0.0.1 URL that refuses connections: a port bound once, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
