"""Free ports and waiting for a listener."""

from __future__ import annotations

import socket

import pytest

from harness.errors import InfraError
from harness.infra.ports import PREFERRED_RANGE, ephemeral_range, free_port, wait_for_port


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(20)]
    assert len(set(ports)) == len(ports)
    low, high = ephemeral_range()
    for port in ports:
        assert not low <= port <= high
        assert PREFERRED_RANGE[0] <= port <= PREFERRED_RANGE[1]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_never_handed_out() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert taken not in {free_port() for _ in range(50)}


def test_wait_for_port_returns_once_something_listens() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        wait_for_port("127.0.0.1", server.getsockname()[1], timeout=2)


def test_wait_for_port_times_out_with_an_infra_error() -> None:
    port = free_port()
    with pytest.raises(InfraError, match=f"nothing listens on 127.0.0.1:{port}"):
        wait_for_port("127.0.0.1", port, timeout=0.1)
