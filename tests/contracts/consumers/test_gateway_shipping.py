"""gateway -> shipping: the gateway's ShippingClient, and its fallback for "no shipment"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import DownstreamUnavailable, ResilientClient
from sample_services.gateway.clients import ShippingClient
from tests.contracts.consumers.conftest import UUID, ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]


def test_a_created_shipment(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "shipping")
    (
        pact.upon_receiving("a request for the shipment of an order")
        .given(
            "shipment for order {order_id} is CREATED",
            order_id="O-200",
            shipment_id="5b0e7d2a-1f3c-4e8a-9b6d-0c1e2f3a4b5c",
        )
        .with_request("GET", "/shipments/O-200")
        .will_respond_with(200)
        .with_body(
            {
                "order_id": "O-200",
                "shipment_id": match.regex("5b0e7d2a-1f3c-4e8a-9b6d-0c1e2f3a4b5c", regex=UUID),
                "status": "CREATED",
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        shipment = ShippingClient(resilient("shipping", str(srv.url))).find_shipment("O-200")
    assert shipment is not None
    assert shipment.status == "CREATED"


def test_no_shipment_yet_is_none_not_an_error(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    # The gateway composes GET /api/orders/{id} with `shipment: null` on this 404.
    pact = consumer_pact("gateway", "shipping")
    (
        pact.upon_receiving("a request for the shipment of an order not shipped yet")
        .given("no shipment for order {order_id}", order_id="O-201")
        .with_request("GET", "/shipments/O-201")
        .will_respond_with(404)
        .with_body({"detail": match.str("no shipment"), "code": "not_found"})
    )
    with pact.serve(addr="127.0.0.1") as srv:
        shipment = ShippingClient(resilient("shipping", str(srv.url))).find_shipment("O-201")
    assert shipment is None


def test_shipping_down_is_an_outage_the_gateway_rides_out(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    # On this the gateway still serves the order: `shipment: null` plus `X-Degraded:
    # shipping`. The state is set by the harness (it cuts shipping's database edge).
    pact = consumer_pact("gateway", "shipping")
    (
        pact.upon_receiving("a request for a shipment while shipping's database is unreachable")
        .given("the database of {service} is unreachable", service="shipping")
        .with_request("GET", "/shipments/O-202")
        .will_respond_with(503)
        .with_body({"detail": match.str("database unavailable"), "code": "database_unavailable"})
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = ShippingClient(resilient("shipping", str(srv.url)))
        with pytest.raises(DownstreamUnavailable) as outage:
            client.find_shipment("O-202")
    assert outage.value.status == 503
