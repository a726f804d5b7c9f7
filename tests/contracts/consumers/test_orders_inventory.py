"""orders -> inventory: the saga's InventoryClient (reserve, commit, release) against inventory."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import DownstreamError, ResilientClient
from sample_services.orders.clients import InventoryClient, Refused
from tests.contracts.consumers.conftest import ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]
STATUS = "^(HELD|COMMITTED|RELEASED)$"


def reservation(
    order_id: str, status: str, sku: str = "SKU-1", quantity: int = 2
) -> dict[str, object]:
    return {
        "order_id": order_id,
        "status": status,
        "items": match.each_like({"sku": match.str(sku), "quantity": match.int(quantity)}),
    }


def refusal(code: str) -> dict[str, object]:
    return {"detail": match.str("why"), "code": code}


def test_reserve_stock(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a reservation for an order")
        .given("sku {sku} has {available} available", sku="SKU-1", available=10)
        .with_request("POST", "/reservations")
        .with_header("Idempotency-Key", "O-300:reserve")
        .with_body(
            {"order_id": "O-300", "items": [{"sku": "SKU-1", "quantity": 2}]},
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(reservation("O-300", "HELD"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        held = InventoryClient(resilient("inventory", str(srv.url))).reserve(
            "O-300", [("SKU-1", 2)]
        )
    assert held.status == "HELD"
    assert held.items[0].quantity == 2


def test_not_enough_stock_is_a_refusal(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    # The saga fails the order at once on this 409 (no retry): it must stay a 4xx.
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a reservation for more than is available")
        .given("sku {sku} has {available} available", sku="SKU-2", available=1)
        .with_request("POST", "/reservations")
        .with_header("Idempotency-Key", "O-301:reserve")
        .with_body(
            {"order_id": "O-301", "items": [{"sku": "SKU-2", "quantity": 5}]},
            content_type="application/json",
        )
        .will_respond_with(409)
        .with_body(refusal("insufficient_stock"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        with pytest.raises(Refused) as refused:
            client.reserve("O-301", [("SKU-2", 5)])
    assert (refused.value.status, refused.value.code) == (409, "insufficient_stock")


def test_an_unknown_sku_is_a_refusal(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a reservation of an unknown sku")
        .given("no stock for {sku}", sku="SKU-404")
        .with_request("POST", "/reservations")
        .with_header("Idempotency-Key", "O-302:reserve")
        .with_body(
            {"order_id": "O-302", "items": [{"sku": "SKU-404", "quantity": 1}]},
            content_type="application/json",
        )
        .will_respond_with(404)
        .with_body(refusal("not_found"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        with pytest.raises(Refused) as refused:
            client.reserve("O-302", [("SKU-404", 1)])
    assert refused.value.status == 404


def test_commit_a_held_reservation(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a commit of a held reservation")
        .given("reservation {order_id} is HELD", order_id="O-303", sku="SKU-3", quantity=2)
        .with_request("POST", "/reservations/O-303/commit")
        .with_header("Idempotency-Key", "O-303:commit")
        .will_respond_with(200)
        .with_body(reservation("O-303", "COMMITTED", "SKU-3"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        done = InventoryClient(resilient("inventory", str(srv.url))).commit("O-303")
    assert done.status == "COMMITTED"


def test_commit_after_release_is_refused(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a commit of a released reservation")
        .given("reservation {order_id} is RELEASED", order_id="O-304")
        .with_request("POST", "/reservations/O-304/commit")
        .with_header("Idempotency-Key", "O-304:commit")
        .will_respond_with(409)
        .with_body(refusal("reservation_released"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        with pytest.raises(Refused) as refused:
            client.commit("O-304")
    assert refused.value.code == "reservation_released"


def test_release_a_held_reservation(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a release of a held reservation")
        .given("reservation {order_id} is HELD", order_id="O-305", sku="SKU-5", quantity=1)
        .with_request("DELETE", "/reservations/O-305")
        .will_respond_with(200)
        .with_body(
            {"order_id": "O-305", "status": "RELEASED", "items": match.type([])},
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        released = InventoryClient(resilient("inventory", str(srv.url))).release("O-305")
    assert released.status == "RELEASED"


def test_read_a_reservation(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a request for a committed reservation")
        .given("reservation {order_id} is COMMITTED", order_id="O-306", sku="SKU-6", quantity=3)
        .with_request("GET", "/reservations/O-306")
        .will_respond_with(200)
        .with_body(reservation("O-306", "COMMITTED", "SKU-6", 3), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        found = InventoryClient(resilient("inventory", str(srv.url))).get_reservation("O-306")
    assert found is not None
    assert found.status == "COMMITTED"


def test_an_inventory_outage_is_retryable_not_a_refusal(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    # The saga retries a reserve that met an outage until its step deadline; only a 4xx
    # fails the order. The state is set by the harness (it cuts inventory's database edge).
    pact = consumer_pact("orders", "inventory")
    (
        pact.upon_receiving("a reservation while inventory's database is unreachable")
        .given("the database of {service} is unreachable", service="inventory")
        .with_request("POST", "/reservations")
        .with_header("Idempotency-Key", "O-307:reserve")
        .with_body(
            {"order_id": "O-307", "items": [{"sku": "SKU-1", "quantity": 1}]},
            content_type="application/json",
        )
        .will_respond_with(503)
        .with_body(refusal("database_unavailable"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = InventoryClient(resilient("inventory", str(srv.url)))
        with pytest.raises(DownstreamError) as outage:
            client.reserve("O-307", [("SKU-1", 1)])
    assert not isinstance(outage.value, Refused)
    assert outage.value.status == 503
