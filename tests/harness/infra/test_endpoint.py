"""Endpoint: the address form Toxiproxy and URLs use."""

from __future__ import annotations

import pytest

from harness.infra.base import Endpoint


def test_address_and_parse_are_inverse() -> None:
    endpoint = Endpoint("127.0.0.1", 5432)
    assert endpoint.address == "127.0.0.1:5432"
    assert Endpoint.parse(endpoint.address) == endpoint


def test_ipv6_hosts_are_bracketed() -> None:
    endpoint = Endpoint("::1", 6379)
    assert endpoint.address == "[::1]:6379"
    assert Endpoint.parse("[::1]:6379") == endpoint


@pytest.mark.parametrize("bad", ["localhost", ":80", "host:", "host:http"])
def test_parse_rejects_what_is_not_host_port(bad: str) -> None:
    with pytest.raises(ValueError, match="not a host:port"):
        Endpoint.parse(bad)
