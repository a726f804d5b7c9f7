"""A small HTTP target for load runs that need no fleet, and profile-writing helpers."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ids = itertools.count(1)

    def log_message(self, *_args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/fail":
            self._send(500, {"detail": "planted failure", "code": "boom"})
            return
        if url.path == "/slow":
            time.sleep(int(parse_qs(url.query).get("ms", ["50"])[0]) / 1000)
        self._send(200, {"path": url.path})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/auth/token":
            self._send(200, {"access_token": "token-for-tests"})
        elif self.headers.get("Authorization") != "Bearer token-for-tests":
            self._send(401, {"code": "unauthorized"})
        else:
            self._send(201, {"id": f"item-{next(self.ids)}"})


@pytest.fixture(scope="session")
def target() -> Iterator[str]:
    """Base URL of a threaded HTTP server on 127.0.0.1 (in this process; Locust is not)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


WriteProfile = Callable[..., Path]


@pytest.fixture
def write_profile(tmp_path: Path) -> WriteProfile:
    """Write a profile (a dict, or YAML text) into tmp_path; returns its path."""

    def write(content: dict[str, Any] | str, name: str = "profile.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return write


def profile_dict(base_url: str, **overrides: Any) -> dict[str, Any]:
    """A short valid profile against ``base_url``; fields replaced by ``overrides``."""
    profile: dict[str, Any] = {
        "version": 1,
        "name": "standin",
        "base_url": base_url,
        "stages": [{"duration": "4s", "users": 3, "spawn_rate": 10}],
        "wait": {"constant_throughput": 20},
        "tasks": [
            {"name": "ok", "weight": 3, "request": {"path": "/ok"}},
            {"name": "slow", "weight": 1, "request": {"path": "/slow?ms=30"}},
        ],
        "thresholds": {"http_req_duration": ["p(95)<2000"]},
    }
    profile.update(overrides)
    return profile
