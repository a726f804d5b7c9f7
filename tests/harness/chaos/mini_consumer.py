"""A purpose-built event consumer for chaos tests: at-least-once from a Redis stream, with
or without inbox dedup (stdlib HTTP + redis-py), started by `command:`.

It publishes its own events too (one every PUBLISH_EVERY s into the stream through its
broker URL), so a broker fault hits both sides. Each event is applied (a counter per
event id), then, WORK_S later, acknowledged; an event applied but not acknowledged when
the broker connection breaks is delivered again (the consumer re-reads its pending
entries after reconnecting). With DEDUP=1 an inbox of seen event ids makes that harmless;
without, the event takes effect twice. GET /effects -> {event_id: times applied}.
Environment: PORT, HOST, BROKER_URL, DEDUP, HEALTH_PATH (default /health/ready).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

STREAM, GROUP, NAME = "events", "consumers", "c1"
DEDUP = os.environ.get("DEDUP") == "1"
WORK_S = float(os.environ.get("WORK_S", "0.3"))
PUBLISH_EVERY = float(os.environ.get("PUBLISH_EVERY", "0.1"))
HEALTH = os.environ.get("HEALTH_PATH", "/health/ready")
applied: dict[str, int] = {}
inbox: set[str] = set()
lock = threading.Lock()


def _client() -> redis.Redis:
    return redis.Redis.from_url(
        os.environ["BROKER_URL"], socket_timeout=1.0, socket_connect_timeout=1.0
    )


def publish() -> None:
    client = _client()
    while True:
        try:
            client.xadd(STREAM, {"event_id": str(uuid.uuid4())})
        except redis.RedisError:
            client = _client()
        time.sleep(PUBLISH_EVERY)


def consume() -> None:
    client = _client()
    pending_first = True
    while True:
        try:
            with contextlib.suppress(redis.ResponseError):  # the group exists
                client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
            # After (re)connecting, our own unacknowledged entries come first: at least once.
            start = "0" if pending_first else ">"
            batch = client.xreadgroup(GROUP, NAME, {STREAM: start}, count=1, block=500)
            entries = batch[0][1] if batch else []
            if pending_first and not entries:
                pending_first = False
                continue
            for entry_id, fields in entries:
                event_id = fields[b"event_id"].decode()
                with lock:
                    if not (DEDUP and event_id in inbox):
                        applied[event_id] = applied.get(event_id, 0) + 1
                        inbox.add(event_id)
                time.sleep(WORK_S)  # the work between the effect and the acknowledgement
                client.xack(STREAM, GROUP, entry_id)
        except redis.RedisError:
            time.sleep(0.2)
            client = _client()
            pending_first = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == HEALTH:
            body = {"ready": True}
        elif self.path == "/effects":
            with lock:
                body = dict(applied)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def main() -> None:
    threading.Thread(target=publish, daemon=True).start()
    threading.Thread(target=consume, daemon=True).start()
    address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"]))
    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
