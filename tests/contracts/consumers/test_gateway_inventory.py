"""gateway -> inventory: the gateway's InventoryClient against inventory's contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import ResilientClient
from sample_services.gateway.clients import BackendRejected, InventoryClient
from sample_services.gateway.schemas import SetStock
from tests.contracts.consumers.conftest import ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]


def stock_body(sku: str, available: int) -> dict[str, object]:
    return {
        "sku": sku,
        "available": available,
        "reserved": match.int(0),
        "sold": match.int(0),
        "received": match.int(available),
    }


def test_stock_of_a_known_sku(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "inventory")
    (
        pact.upon_receiving("a request for the stock of a known sku")
        .given("sku {sku} has {available} available", sku="SKU-7", available=5)
        .with_request("GET", "/stock/SKU-7")
        .will_respond_with(200)
        .with_body(stock_body("SKU-7", 5), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        stock = InventoryClient(resilient("inventory", str(srv.url))).get_stock("SKU-7")
    assert (stock.sku, stock.available) == ("SKU-7", 5)


def test_an_unknown_sku_is_passed_through_as_404(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    pact = consumer_pact("gateway", "inventory")
    (
        pact.upon_receiving("a request for the stock of an unknown sku")
        .given("no stock for {sku}", sku="SKU-404")
        .with_request("GET", "/stock/SKU-404")
        .will_respond_with(404)
        .with_body({"detail": match.str("unknown sku"), "code": "not_found"})
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        with pytest.raises(BackendRejected) as refused:
            client.get_stock("SKU-404")
    assert refused.value.status_code == 404


def test_set_the_stock_of_a_sku(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "inventory")
    (
        pact.upon_receiving("a new stock level for a sku")
        .given("no stock for {sku}", sku="SKU-8")
        .with_request("PUT", "/stock/SKU-8")
        .with_body({"available": 12}, content_type="application/json")
        .will_respond_with(200)
        .with_body(stock_body("SKU-8", 12), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        stock = client.set_stock("SKU-8", SetStock(available=12))
    assert stock.available == 12
