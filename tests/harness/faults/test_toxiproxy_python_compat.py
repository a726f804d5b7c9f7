"""Users who already script Toxiproxy with toxiproxy-python 0.1.1 can drive our server.

Seen on Python 3.11 with toxiproxy-server 2.12: everything below works; `version()` returns
the raw response bytes (b'{"version": "git"}\\n') rather than a version, and enabling or
disabling uses the deprecated POST /proxies/{name}, which 2.12 still accepts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from harness.faults.toxics import Latency
from harness.faults.toxiproxy import ToxiproxyClient
from harness.infra.base import Endpoint
from harness.infra.ports import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def legacy_server(toxiproxy_api: str) -> Iterator[Toxiproxy]:
    # toxiproxy-python keeps its server address in class attributes, for the whole process.
    api = Endpoint.parse(toxiproxy_api.removeprefix("http://"))
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = api.host, api.port
    try:
        yield Toxiproxy()
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_a_proxy_and_toxic_made_with_toxiproxy_python_are_seen_by_our_client(
    legacy_server: Toxiproxy, client: ToxiproxyClient, upstream: Endpoint
) -> None:
    assert legacy_server.running()
    assert b"version" in legacy_server.version()
    listen = f"127.0.0.1:{free_port()}"
    legacy = legacy_server.create(upstream=upstream.address, name="legacy__payments", listen=listen)
    legacy.add_toxic(type="latency", attributes={"latency": 120})

    ours = client.proxy("legacy__payments")
    assert (ours.listen, ours.upstream, ours.enabled) == (listen, upstream.address, True)
    assert ours.toxics == (Latency(latency=120),)

    legacy.disable()
    assert not client.proxy("legacy__payments").enabled
    client.reset()
    assert legacy_server.get_proxy("legacy__payments").enabled
    assert legacy.toxics() == {}
