"""gateway -> payments: the gateway's PaymentsClient against payments' contract."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pact import match

from sample_services.common.outbound import ResilientClient
from sample_services.gateway.clients import BackendRejected, PaymentsClient
from sample_services.gateway.schemas import SetBalance
from tests.contracts.consumers.conftest import ConsumerPact

pytestmark = pytest.mark.contracts

Resilient = Callable[[str, str], ResilientClient]


def account_body(account_id: str, balance: int) -> dict[str, object]:
    return {
        "account_id": account_id,
        "balance_cents": balance,
        "credited_cents": match.int(balance),
    }


def test_an_account(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "payments")
    (
        pact.upon_receiving("a request for an account")
        .given(
            "account {account_id} has balance {balance_cents}", account_id="A-1", balance_cents=5000
        )
        .with_request("GET", "/accounts/A-1")
        .will_respond_with(200)
        .with_body(account_body("A-1", 5000), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        account = PaymentsClient(resilient("payments", str(srv.url))).get_account("A-1")
    assert account.balance_cents == 5000


def test_an_unknown_account_is_passed_through_as_404(
    consumer_pact: ConsumerPact, resilient: Resilient
) -> None:
    pact = consumer_pact("gateway", "payments")
    (
        pact.upon_receiving("a request for an unknown account")
        .given("account {account_id} does not exist", account_id="A-404")
        .with_request("GET", "/accounts/A-404")
        .will_respond_with(404)
        .with_body({"detail": match.str("unknown account"), "code": "not_found"})
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = PaymentsClient(resilient("payments", str(srv.url)))
        with pytest.raises(BackendRejected) as refused:
            client.get_account("A-404")
    assert refused.value.status_code == 404


def test_set_a_balance(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "payments")
    (
        pact.upon_receiving("a new balance for an account")
        .given("account {account_id} does not exist", account_id="A-2")
        .with_request("PUT", "/accounts/A-2")
        .with_body({"balance_cents": 700}, content_type="application/json")
        .will_respond_with(200)
        .with_body(account_body("A-2", 700), content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        client = PaymentsClient(resilient("payments", str(srv.url)))
        account = client.set_account("A-2", SetBalance(balance_cents=700))
    assert account.balance_cents == 700


def test_a_captured_payment(consumer_pact: ConsumerPact, resilient: Resilient) -> None:
    pact = consumer_pact("gateway", "payments")
    (
        pact.upon_receiving("a request for a captured payment")
        .given(
            "payment {payment_id} for order {order_id} is CAPTURED",
            payment_id="P-1",
            order_id="O-1",
            account_id="A-3",
            amount_cents=1200,
        )
        .with_request("GET", "/payments/P-1")
        .will_respond_with(200)
        .with_body(
            {
                "payment_id": "P-1",
                "order_id": "O-1",
                "account_id": match.str("A-3"),
                "amount_cents": match.int(1200),
                "status": "CAPTURED",
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        payment = PaymentsClient(resilient("payments", str(srv.url))).get_payment("P-1")
    assert (payment.payment_id, payment.status) == ("P-1", "CAPTURED")
