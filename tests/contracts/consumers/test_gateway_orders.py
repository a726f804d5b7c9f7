"""gateway -> orders: the gateway's OrdersClient against orders' contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import ResilientClient
from sample_services.gateway.clients import BackendRejected, OrdersClient
from sample_services.gateway.schemas import CreateOrder, OrderItemIn
from tests.contracts.consumers.conftest import ID, ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]
LINE = {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 500}


def order_body(order_id: str, status: str) -> dict[str, object]:
    return {
        "order_id": match.regex(order_id, regex=ID),
        "status": status,
        "account_id": match.str("ACC-1"),
        "items": match.each_like(
            {
                "sku": match.str("SKU-1"),
                "quantity": match.int(2),
                "unit_price_cents": match.int(500),
            }
        ),
        "amount_cents": match.int(1000),
    }


def problem(code: str) -> dict[str, object]:
    return {"detail": match.str("why"), "code": code}


def test_place_an_order(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a new order")
        .with_request("POST", "/orders")
        .with_header("Idempotency-Key", "checkout-42")
        .with_body(
            {"account_id": "ACC-1", "items": [LINE]},
            content_type="application/json",
        )
        .will_respond_with(202)
        .with_body(order_body("O-1", "PENDING"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OrdersClient(resilient("orders", str(srv.url)))
        order = client.create_order(
            CreateOrder(
                account_id="ACC-1",
                items=[OrderItemIn(sku="SKU-1", quantity=2, unit_price_cents=500)],
            ),
            idempotency_key="checkout-42",
        )
    assert order.status == "PENDING"
    assert order.amount_cents == 1000


def test_get_an_order(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a request for a confirmed order")
        .given("order {order_id} is CONFIRMED", order_id="O-100", account_id="ACC-1", items=[LINE])
        .with_request("GET", "/orders/O-100")
        .will_respond_with(200)
        .with_body(order_body("O-100", "CONFIRMED"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        order = OrdersClient(resilient("orders", str(srv.url))).get_order("O-100")
    assert (order.order_id, order.status) == ("O-100", "CONFIRMED")


def test_an_unknown_order_is_passed_through_as_404(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a request for an unknown order")
        .given("no order {order_id}", order_id="O-404")
        .with_request("GET", "/orders/O-404")
        .will_respond_with(404)
        .with_body(problem("not_found"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OrdersClient(resilient("orders", str(srv.url)))
        with pytest.raises(BackendRejected) as refused:
            client.get_order("O-404")
    # The gateway relays a backend's 4xx verbatim: status and problem document.
    assert refused.value.status_code == 404
    assert refused.value.body["code"] == "not_found"


def test_get_the_saga_of_an_order(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a request for the saga of a confirmed order")
        .given("order {order_id} is CONFIRMED", order_id="O-101")
        .with_request("GET", "/orders/O-101/saga")
        .will_respond_with(200)
        .with_body(
            {
                "order_id": match.str("O-101"),
                "status": "CONFIRMED",
                "steps": match.each_like(
                    {
                        "name": match.str("reserve"),
                        "status": match.regex(
                            "SUCCEEDED", regex="^(PENDING|SUCCEEDED|FAILED|SKIPPED)$"
                        ),
                        "attempts": match.int(1),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        saga = OrdersClient(resilient("orders", str(srv.url))).get_saga("O-101")
    assert saga.status == "CONFIRMED"
    assert saga.steps[0].name == "reserve"


def test_cancelling_a_cancelled_order_answers_it_again(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a cancellation of a cancelled order")
        .given("order {order_id} is CANCELLED", order_id="O-102")
        .with_request("POST", "/orders/O-102/cancel")
        .with_header("Idempotency-Key", "cancel-102")
        .will_respond_with(200)
        .with_body(order_body("O-102", "CANCELLED"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OrdersClient(resilient("orders", str(srv.url)))
        order = client.cancel_order("O-102", idempotency_key="cancel-102")
    assert order.status == "CANCELLED"


def test_cancelling_a_pending_order_is_refused_with_409(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    pact = consumer_pact("gateway", "orders")
    (
        pact.upon_receiving("a cancellation of a pending order")
        .given("order {order_id} is PENDING", order_id="O-103")
        .with_request("POST", "/orders/O-103/cancel")
        .will_respond_with(409)
        .with_body(problem("order_not_confirmed"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = OrdersClient(resilient("orders", str(srv.url)))
        with pytest.raises(BackendRejected) as refused:
            client.cancel_order("O-103")
    assert refused.value.status_code == 409
    assert refused.value.body["code"] == "order_not_confirmed"
