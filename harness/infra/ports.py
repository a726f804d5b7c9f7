"""Free TCP ports for servers we start, and waiting until something listens on one.

Ports come from 20000-32000, below the kernel's ephemeral range (32768-60999 on Linux),
when possible. A port from the ephemeral range can be taken at any moment by an outgoing
connection of any process as its local port. That matters most for Toxiproxy: disabling a
proxy closes its listener, and re-enabling it must bind the same port again; an ephemeral
port may have been handed to an outbound socket in between, and the re-enable then fails.
Servers that restart under a fault (kill, then start) need their port back for the same
reason.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from pathlib import Path

from harness.errors import InfraError

PREFERRED_RANGE = (20000, 32000)
_ATTEMPTS = 200
_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")

# Seeded by pid so that parallel test processes (xdist workers, two harness runs) walk
# different sequences, while one process stays reproducible.
_rng = random.Random(os.getpid())
_lock = threading.Lock()
# A port checked free is not bound until the server starts; remember what we handed out so
# two servers started in a row never get the same one.
_handed_out: set[tuple[str, int]] = set()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for automatically assigned local ports (Linux default if unknown)."""
    try:
        low, high = _EPHEMERAL_RANGE_FILE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _binds(host: str, port: int) -> bool:
    # No SO_REUSEADDR: stricter than the servers themselves, so a port with lingering
    # connections is skipped rather than fought over.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing is bound to now, outside the ephemeral range if possible."""
    low, high = PREFERRED_RANGE
    eph_low, eph_high = ephemeral_range()
    with _lock:
        for _ in range(_ATTEMPTS):
            port = _rng.randint(low, high)
            if eph_low <= port <= eph_high or (host, port) in _handed_out:
                continue
            if _binds(host, port):
                _handed_out.add((host, port))
                return port
        # Crowded machine or an unusual ephemeral range: let the kernel choose.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        _handed_out.add((host, port))
        return port


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until something accepts connections on host:port; InfraError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() >= deadline:
            raise InfraError(f"nothing listens on {host}:{port} after {timeout:g} s")
        time.sleep(0.02)
