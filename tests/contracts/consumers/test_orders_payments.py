"""orders -> payments: the saga's PaymentsClient (charge, refund, lookups) against payments."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import ResilientClient
from sample_services.orders.clients import PaymentsClient, Refused
from tests.contracts.consumers.conftest import ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]


def payment(
    payment_id: object, order_id: str, status: str, amount: int = 1500
) -> dict[str, object]:
    return {
        "payment_id": payment_id,
        "order_id": order_id,
        "account_id": match.str("A-10"),
        "amount_cents": match.int(amount),
        "status": status,
    }


def refusal(code: str) -> dict[str, object]:
    return {"detail": match.str("why"), "code": code}


def charge(order_id: str, amount: int) -> dict[str, object]:
    return {"order_id": order_id, "account_id": "A-10", "amount_cents": amount}


def test_charge_an_order(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a charge for an order")
        .given(
            "account {account_id} has balance {balance_cents}",
            account_id="A-10",
            balance_cents=10_000,
        )
        .with_request("POST", "/payments")
        .with_header("Idempotency-Key", "O-400:charge")
        .with_body(charge("O-400", 1500), content_type="application/json")
        .will_respond_with(201)
        .with_body(
            payment(match.str("pay-1"), "O-400", "CAPTURED"), content_type="application/json"
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        paid = PaymentsClient(resilient("payments", str(srv.url))).charge("O-400", "A-10", 1500)
    assert paid.status == "CAPTURED"


def test_insufficient_funds_is_a_refusal(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    # The saga compensates at once on this 402 ("charge refused: insufficient_funds").
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a charge larger than the balance")
        .given(
            "account {account_id} has balance {balance_cents}", account_id="A-10", balance_cents=100
        )
        .with_request("POST", "/payments")
        .with_header("Idempotency-Key", "O-401:charge")
        .with_body(charge("O-401", 1500), content_type="application/json")
        .will_respond_with(402)
        .with_body(refusal("insufficient_funds"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = PaymentsClient(resilient("payments", str(srv.url)))
        with pytest.raises(Refused) as refused:
            client.charge("O-401", "A-10", 1500)
    assert (refused.value.status, refused.value.code) == (402, "insufficient_funds")


def test_an_unknown_account_is_a_refusal(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a charge to an unknown account")
        .given("account {account_id} does not exist", account_id="A-10")
        .with_request("POST", "/payments")
        .with_header("Idempotency-Key", "O-402:charge")
        .with_body(charge("O-402", 1500), content_type="application/json")
        .will_respond_with(404)
        .with_body(refusal("not_found"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = PaymentsClient(resilient("payments", str(srv.url)))
        with pytest.raises(Refused) as refused:
            client.charge("O-402", "A-10", 1500)
    assert refused.value.status == 404


def test_refund_a_captured_payment(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a refund of a captured payment")
        .given(
            "payment {payment_id} for order {order_id} is CAPTURED",
            payment_id="P-403",
            order_id="O-403",
            account_id="A-10",
            amount_cents=1500,
        )
        .with_request("POST", "/payments/P-403/refund")
        .with_header("Idempotency-Key", "P-403:refund")
        .will_respond_with(200)
        .with_body(payment("P-403", "O-403", "REFUNDED"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        refunded = PaymentsClient(resilient("payments", str(srv.url))).refund("P-403")
    assert refunded.status == "REFUNDED"


def test_find_the_payments_of_an_order(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    # How compensation finds a charge whose outcome it never saw.
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a search for the payments of a charged order")
        .given(
            "payment {payment_id} for order {order_id} is CAPTURED",
            payment_id="P-404",
            order_id="O-404",
            account_id="A-10",
            amount_cents=1500,
        )
        .with_request("GET", "/payments")
        .with_query_parameter("order_id", "O-404")
        .will_respond_with(200)
        .with_body(
            match.each_like(payment("P-404", "O-404", "CAPTURED")),
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        found = PaymentsClient(resilient("payments", str(srv.url))).payments_for_order("O-404")
    assert [p.payment_id for p in found] == ["P-404"]


def test_no_payments_is_an_empty_list(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a search for the payments of an order never charged")
        .given("order {order_id} has no payments", order_id="O-405")
        .with_request("GET", "/payments")
        .with_query_parameter("order_id", "O-405")
        .will_respond_with(200)
        .with_body([], content_type="application/json")  # type: ignore[arg-type]  # a list is fine at run time
    )
    with pact.serve(addr="127.0.0.1") as srv:
        found = PaymentsClient(resilient("payments", str(srv.url))).payments_for_order("O-405")
    assert found == []


def test_read_a_payment(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("orders", "payments")
    (
        pact.upon_receiving("a request for a refunded payment")
        .given(
            "payment {payment_id} for order {order_id} is REFUNDED",
            payment_id="P-406",
            order_id="O-406",
            account_id="A-10",
            amount_cents=1500,
        )
        .with_request("GET", "/payments/P-406")
        .will_respond_with(200)
        .with_body(payment("P-406", "O-406", "REFUNDED"), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        found = PaymentsClient(resilient("payments", str(srv.url))).get_payment("P-406")
    assert found is not None
    assert found.status == "REFUNDED"
