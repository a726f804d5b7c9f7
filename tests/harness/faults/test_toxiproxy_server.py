"""ToxiproxyClient and EdgeFaults against a real toxiproxy-server and a real HTTP upstream."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from harness.faults.base import applied
from harness.faults.edge import EdgeFaults
from harness.faults.toxics import (
    Bandwidth,
    GenericToxic,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    Toxic,
)
from harness.faults.toxiproxy import (
    AlreadyExists,
    BadRequest,
    Proxy,
    ProxyNotFound,
    ProxySpec,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyUnavailable,
)
from harness.infra.base import Endpoint
from harness.infra.ports import free_port

pytestmark = pytest.mark.slow


def get(proxy: Proxy, path: str = "/") -> httpx.Response:
    """One request on a fresh connection (toxics act per connection)."""
    endpoint = proxy.listen_endpoint
    return httpx.get(f"http://{endpoint.address}{path}", timeout=5.0)


def test_version(client: ToxiproxyClient) -> None:
    assert client.version()


def test_a_proxy_on_port_0_gets_a_real_port_and_forwards(
    client: ToxiproxyClient, upstream: Endpoint
) -> None:
    proxy = client.create_proxy("gateway__orders", "127.0.0.1:0", upstream.address)
    assert proxy.listen_endpoint.port != 0
    assert proxy.upstream == upstream.address
    assert proxy.enabled
    assert proxy.toxics == ()
    assert get(proxy).text == "ok"
    assert client.proxies()["gateway__orders"] == proxy
    assert client.proxy("gateway__orders") == proxy


def test_edge_style_names_with_an_arrow_work_in_url_paths(
    client: ToxiproxyClient, upstream: Endpoint
) -> None:
    proxy = client.create_proxy("orders->payments", "127.0.0.1:0", upstream.address)
    assert client.proxy("orders->payments").listen == proxy.listen
    client.add_toxic("orders->payments", Latency(latency=1))
    assert [t.name for t in client.toxics("orders->payments")] == ["latency_downstream"]
    client.delete_proxy("orders->payments")
    assert "orders->payments" not in client.proxies()


# Each toxic type with an attribute change to apply to it.
EVERY_TOXIC: list[tuple[Toxic, dict[str, int]]] = [
    (Latency(latency=100, jitter=10), {"latency": 250}),
    (Bandwidth(rate=64, stream="upstream"), {"rate": 128}),
    (SlowClose(delay=50), {"delay": 75}),
    (Timeout(timeout=1000, toxicity=0.5), {"timeout": 0}),
    (ResetPeer(timeout=10), {"timeout": 20}),
    (Slicer(average_size=64, size_variation=8, delay=100), {"average_size": 32}),
    (LimitData(bytes=4096, name="cap"), {"bytes": 8192}),
]


@pytest.mark.parametrize(("toxic", "change"), EVERY_TOXIC, ids=lambda v: getattr(v, "type", ""))
def test_every_toxic_type_is_added_listed_updated_and_removed(
    client: ToxiproxyClient, proxy: Proxy, toxic: Toxic, change: dict[str, int]
) -> None:
    assert client.add_toxic(proxy.name, toxic) == toxic
    assert client.toxics(proxy.name) == [toxic]
    assert client.proxy(proxy.name).toxics == (toxic,)

    updated = client.update_toxic(proxy.name, toxic.name, attributes=change)
    assert updated == toxic.model_copy(update=change)
    assert client.toxic(proxy.name, toxic.name) == updated

    rarer = client.update_toxic(proxy.name, toxic.name, toxicity=0.25)
    assert rarer.toxicity == 0.25
    assert rarer.attribute_values() == updated.attribute_values()

    client.remove_toxic(proxy.name, toxic.name)
    assert client.toxics(proxy.name) == []
    with pytest.raises(ToxicNotFound):
        client.toxic(proxy.name, toxic.name)


def test_a_latency_toxic_delays_the_response_and_goes_away_on_exit(
    client: ToxiproxyClient, proxy: Proxy
) -> None:
    edge = EdgeFaults(client, proxy.name)
    with edge.latency(300) as fault:
        assert fault.active
        started = time.monotonic()
        assert get(proxy).text == "ok"
        assert time.monotonic() - started >= 0.3
    assert not fault.active
    assert client.toxics(proxy.name) == []


def test_a_toxic_is_removed_when_the_body_raises(client: ToxiproxyClient, proxy: Proxy) -> None:
    edge = EdgeFaults.for_edge(client, "orders->payments")

    def body() -> None:
        with applied(edge.timeout(1000)):
            assert [t.type for t in client.toxics(proxy.name)] == ["timeout"]
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert client.toxics(proxy.name) == []


def test_down_refuses_connections_and_comes_back_on_exit(
    client: ToxiproxyClient, proxy: Proxy
) -> None:
    with EdgeFaults(client, proxy.name).down():
        assert not client.proxy(proxy.name).enabled
        with pytest.raises(httpx.ConnectError):
            get(proxy)
    assert client.proxy(proxy.name).enabled
    assert get(proxy).text == "ok"


def test_reset_peer_breaks_the_connection(client: ToxiproxyClient, proxy: Proxy) -> None:
    with EdgeFaults(client, proxy.name).reset_peer(0), pytest.raises(httpx.TransportError):
        get(proxy)
    assert get(proxy).text == "ok"


def test_limit_data_cuts_a_large_response(client: ToxiproxyClient, proxy: Proxy) -> None:
    assert len(get(proxy, "/bytes/20000").content) == 20000
    with EdgeFaults(client, proxy.name).limit_data(1000), pytest.raises(httpx.TransportError):
        get(proxy, "/bytes/20000")


def test_a_live_toxic_can_be_changed_in_place(client: ToxiproxyClient, proxy: Proxy) -> None:
    with EdgeFaults(client, proxy.name).latency(10) as fault:
        fault.update(latency=20)
        assert client.toxic(proxy.name, "latency_downstream").attribute_values() == {
            "latency": 20,
            "jitter": 0,
        }


def test_reset_enables_every_proxy_and_removes_every_toxic(
    client: ToxiproxyClient, proxy: Proxy
) -> None:
    client.add_toxic(proxy.name, Latency(latency=1000))
    client.disable(proxy.name)
    client.reset()
    after = client.proxy(proxy.name)
    assert after.enabled
    assert after.toxics == ()


def test_update_proxy_patches_only_what_is_given(
    client: ToxiproxyClient, proxy: Proxy, upstream: Endpoint
) -> None:
    moved = client.update_proxy(proxy.name, upstream=f"127.0.0.1:{free_port()}")
    assert moved.listen == proxy.listen
    assert moved.enabled
    back = client.update_proxy(proxy.name, upstream=upstream.address, enabled=False)
    assert (back.upstream, back.enabled) == (upstream.address, False)


def test_populate_creates_then_keeps_unchanged_proxies(
    client: ToxiproxyClient, upstream: Endpoint
) -> None:
    specs = [
        ProxySpec("orders__inventory", f"127.0.0.1:{free_port()}", upstream.address),
        ProxySpec("gateway__orders", f"127.0.0.1:{free_port()}", upstream.address, enabled=False),
    ]
    made = client.populate(specs)
    assert [(p.name, p.listen, p.enabled) for p in made] == [
        (s.name, s.listen, s.enabled) for s in specs
    ]
    client.add_toxic("orders__inventory", Latency(latency=5))
    again = client.populate(specs)
    assert [p.listen for p in again] == [s.listen for s in specs]
    # Same listen and upstream: the proxy was kept, toxics and all.
    assert [t.type for t in client.toxics("orders__inventory")] == ["latency"]


def test_errors_are_mapped(client: ToxiproxyClient, proxy: Proxy, upstream: Endpoint) -> None:
    with pytest.raises(ProxyNotFound) as missing:
        client.proxy("nope")
    assert missing.value.status == 404
    with pytest.raises(AlreadyExists) as duplicate:
        client.create_proxy(proxy.name, "127.0.0.1:0", upstream.address)
    assert duplicate.value.status == 409
    with pytest.raises(BadRequest) as bad:
        client.add_toxic(proxy.name, GenericToxic(type="bogus"))
    assert bad.value.status == 400
    client.add_toxic(proxy.name, Latency(latency=1))
    with pytest.raises(AlreadyExists):
        client.add_toxic(proxy.name, Latency(latency=2))
    with pytest.raises(ToxicNotFound):
        client.remove_toxic(proxy.name, "nope")
    with pytest.raises(ProxyNotFound):
        client.remove_toxic("nope", "latency_downstream")
    with pytest.raises(ProxyNotFound):
        client.delete_proxy("nope")
    with pytest.raises(ProxyNotFound):
        client.proxy("a/b")  # not routable: the server's plain-text 404


def test_an_unreachable_server_is_reported_with_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with ToxiproxyClient(url, timeout=1.0) as client, pytest.raises(ToxiproxyUnavailable) as err:
        client.version()
    assert f"{url}/version" in str(err.value)
    assert err.value.status is None


def test_reverting_a_toxic_someone_already_removed_is_fine(
    client: ToxiproxyClient, proxy: Proxy
) -> None:
    fault = EdgeFaults(client, proxy.name).slow_close(10)
    fault.inject()
    client.reset()
    fault.revert()
    assert not fault.active


def test_toxics_of_types_we_do_not_model_are_listed_generically(
    client: ToxiproxyClient, proxy: Proxy
) -> None:
    # "noop" is compiled into toxiproxy-server but not part of the documented set.
    added = client.add_toxic(proxy.name, GenericToxic(type="noop", name="n"))
    assert isinstance(added, GenericToxic)
    listed: list[Any] = client.toxics(proxy.name)
    assert [(t.type, t.name) for t in listed] == [("noop", "n")]
