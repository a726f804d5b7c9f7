"""The typed inventory and payments clients, against an httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from sample_services.common.outbound import DownstreamError, ResilientClient
from sample_services.common.settings import OutboundSettings
from sample_services.orders.clients import InventoryClient, PaymentsClient, Refused

Handler = Callable[[httpx.Request], httpx.Response]
SETTINGS = OutboundSettings(
    http_retry_attempts=3, http_backoff_base=0.001, http_backoff_cap=0.002, breaker_fail_max=100
)

PAYMENT = {
    "payment_id": "P-1",
    "order_id": "O-1",
    "account_id": "ACC-1",
    "amount_cents": 600,
    "status": "CAPTURED",
}
RESERVATION = {"order_id": "O-1", "status": "HELD", "items": [{"sku": "SKU-1", "quantity": 2}]}


class Recorder:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def _client(name: str, recorder: Recorder) -> ResilientClient:
    http = httpx.Client(base_url="http://callee", transport=httpx.MockTransport(recorder))
    return ResilientClient(name, "http://callee", SETTINGS, http=http)


def _problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": "no", "code": code})


def test_every_post_carries_a_key_naming_its_operation() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/payments" or request.url.path.endswith("/refund"):
            return httpx.Response(201 if request.url.path == "/payments" else 200, json=PAYMENT)
        return httpx.Response(200, json=RESERVATION)

    inventory_calls, payments_calls = Recorder(answer), Recorder(answer)
    inventory = InventoryClient(_client("inventory", inventory_calls))
    payments = PaymentsClient(_client("payments", payments_calls))

    inventory.reserve("O-1", [("SKU-1", 2)])
    inventory.commit("O-1")
    payments.charge("O-1", "ACC-1", 600)
    payments.refund("P-1")

    keys = [r.headers.get("Idempotency-Key") for r in inventory_calls.requests]
    keys += [r.headers.get("Idempotency-Key") for r in payments_calls.requests]
    assert keys == ["O-1:reserve", "O-1:commit", "O-1:charge", "P-1:refund"]
    assert json.loads(inventory_calls.requests[0].content) == {
        "order_id": "O-1",
        "items": [{"sku": "SKU-1", "quantity": 2}],
    }
    assert json.loads(payments_calls.requests[0].content) == {
        "order_id": "O-1",
        "account_id": "ACC-1",
        "amount_cents": 600,
    }


def test_a_lost_charge_response_is_asked_again_under_the_same_key() -> None:
    def lose(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost", request=request)

    calls = Recorder(lose)
    payments = PaymentsClient(_client("payments", calls))

    with pytest.raises(DownstreamError) as caught:
        payments.charge("O-1", "ACC-1", 600)

    assert caught.value.maybe_applied is True
    assert len(calls.requests) == SETTINGS.http_retry_attempts
    assert {r.headers["Idempotency-Key"] for r in calls.requests} == {"O-1:charge"}


def test_refusals_are_typed_and_never_retried() -> None:
    calls = Recorder(lambda _r: _problem(402, "insufficient_funds"))
    payments = PaymentsClient(_client("payments", calls))

    with pytest.raises(Refused) as caught:
        payments.charge("O-1", "ACC-1", 600)

    assert (caught.value.status, caught.value.code) == (402, "insufficient_funds")
    assert len(calls.requests) == 1

    stock = Recorder(lambda _r: _problem(409, "insufficient_stock"))
    with pytest.raises(Refused, match="insufficient_stock"):
        InventoryClient(_client("inventory", stock)).reserve("O-1", [("SKU-1", 2)])
    assert len(stock.requests) == 1


def test_a_refused_connection_certainly_did_nothing() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DownstreamError) as caught:
        InventoryClient(_client("inventory", Recorder(refuse))).reserve("O-1", [("SKU-1", 1)])

    assert caught.value.maybe_applied is False


def test_an_unreadable_success_counts_as_an_unknown_outcome() -> None:
    calls = Recorder(lambda _r: httpx.Response(201, json={"unexpected": True}))

    with pytest.raises(DownstreamError) as caught:
        PaymentsClient(_client("payments", calls)).charge("O-1", "ACC-1", 600)

    assert caught.value.maybe_applied is True


def test_lookups_answer_none_or_typed_results() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/payments":
            assert request.url.params["order_id"] == "O-1"
            return httpx.Response(200, json=[PAYMENT, {**PAYMENT, "payment_id": "P-2"}])
        return _problem(404, "not_found")

    payments = PaymentsClient(_client("payments", Recorder(answer)))
    inventory = InventoryClient(_client("inventory", Recorder(answer)))

    assert [p.payment_id for p in payments.payments_for_order("O-1")] == ["P-1", "P-2"]
    assert payments.get_payment("P-9") is None
    assert inventory.get_reservation("O-9") is None


def test_release_is_a_delete_and_answers_the_tombstone() -> None:
    calls = Recorder(lambda _r: httpx.Response(200, json={**RESERVATION, "status": "RELEASED"}))

    released = InventoryClient(_client("inventory", calls)).release("O-1")

    assert released.status == "RELEASED"
    assert [(r.method, r.url.path) for r in calls.requests] == [("DELETE", "/reservations/O-1")]
