"""A Redis server from the machine's packages: in memory only, on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from harness.errors import InfraError
from harness.infra.base import Endpoint
from harness.infra.layout import instance_stem
from harness.infra.ports import free_port
from harness.infra.process import ManagedProcess


def find_redis_server(explicit: str | None = None) -> str:
    """The argument (``infra.redis_server_bin``), then `redis-server` on PATH."""
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise InfraError(f"redis-server not found at {explicit} (infra.redis_server_bin)")
    found = shutil.which("redis-server")
    if found is None:
        raise InfraError("redis-server not found on PATH; install it or set infra.redis_server_bin")
    return found


def ping(endpoint: Endpoint, timeout: float = 0.5) -> bool:
    """One inline-protocol PING; no client library needed to know Redis is up."""
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


class LocalRedis:
    def __init__(self, name: str, root: Path, *, binary: str | None = None) -> None:
        self.name = name
        binary = find_redis_server(binary)
        self.endpoint = Endpoint("127.0.0.1", free_port())
        stem = instance_stem("redis", name)
        self.data_root = root / stem
        self.data_root.mkdir(parents=True, exist_ok=False)
        argv = [
            binary,
            "--port",
            str(self.endpoint.port),
            "--bind",
            self.endpoint.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.data_root),
            "--daemonize",
            "no",
        ]
        self.process = ManagedProcess(name, argv, log_path=root / f"{stem}.log")

    def start(self, timeout: float = 10.0) -> None:
        self.process.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        self.process.wait_until(
            lambda: ping(self.endpoint),
            timeout,
            interval=0.01,  # a refused connect costs microseconds; Redis is up in ~10 ms
            what=f"Redis PING on {self.endpoint.address}",
        )

    def stop(self) -> None:
        self.process.stop()

    def remove_data(self) -> None:
        if not self.process.running:
            shutil.rmtree(self.data_root, ignore_errors=True)

    def url(self, endpoint: Endpoint | None = None) -> str:
        ep = endpoint or self.endpoint
        return f"redis://{ep.host}:{ep.port}/0"
