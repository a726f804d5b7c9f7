"""Captures, replays, refusals and refunds."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.payments.audit import assert_money_conserved


def _pay(client: TestClient, key: str | None, amount: int, order: str = "o-1") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    body = {"order_id": order, "account_id": "A-1", "amount_cents": amount}
    return client.post("/payments", json=body, headers=headers)


def _balance(client: TestClient) -> int:
    balance: int = client.get("/accounts/A-1").json()["balance_cents"]
    return balance


@pytest.fixture
def funded(payments: TestClient) -> TestClient:
    payments.put("/accounts/A-1", json={"balance_cents": 1000})
    return payments


def test_capture_debits_the_account(funded: TestClient, payments_app: FastAPI) -> None:
    response = _pay(funded, "k-1", 300)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "CAPTURED"
    assert {k: body[k] for k in ("order_id", "account_id", "amount_cents")} == {
        "order_id": "o-1",
        "account_id": "A-1",
        "amount_cents": 300,
    }
    assert funded.get(f"/payments/{body['payment_id']}").json() == body
    assert _balance(funded) == 700
    assert_money_conserved(payments_app)


def test_replay_answers_the_same_status_and_body_and_charges_once(
    funded: TestClient, payments_app: FastAPI
) -> None:
    first = _pay(funded, "k-1", 300)
    again = _pay(funded, "k-1", 300)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _balance(funded) == 700
    assert len(funded.get("/payments", params={"order_id": "o-1"}).json()) == 1
    assert_money_conserved(payments_app)


def test_same_key_with_another_body_is_a_conflict(funded: TestClient) -> None:
    _pay(funded, "k-1", 300)

    response = _pay(funded, "k-1", 301)

    assert (response.status_code, response.json()["code"]) == (409, "idempotency_conflict")
    assert _balance(funded) == 700


def test_missing_key_is_400_and_charges_nothing(funded: TestClient) -> None:
    missing = _pay(funded, None, 300)
    empty = _pay(funded, "", 300)

    assert (missing.status_code, missing.json()["code"]) == (400, "missing_idempotency_key")
    assert empty.status_code == 400
    assert _balance(funded) == 1000


def test_insufficient_funds_is_402_and_a_replay_stays_402(
    funded: TestClient, payments_app: FastAPI
) -> None:
    refused = _pay(funded, "k-big", 1500)
    funded.put("/accounts/A-1", json={"balance_cents": 5000})
    replay = _pay(funded, "k-big", 1500)

    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_funds")
    assert (replay.status_code, replay.json()) == (402, refused.json())
    assert _balance(funded) == 5000
    assert funded.get("/payments", params={"order_id": "o-1"}).json() == []
    assert_money_conserved(payments_app)


def test_unknown_account_is_404_and_remembered_under_the_key(payments: TestClient) -> None:
    refused = _pay(payments, "k-1", 100)
    payments.put("/accounts/A-1", json={"balance_cents": 1000})
    replay = _pay(payments, "k-1", 100)

    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert (replay.status_code, replay.json()) == (404, refused.json())
    assert _balance(payments) == 1000


def test_refund_credits_back_once(funded: TestClient, payments_app: FastAPI) -> None:
    payment_id = _pay(funded, "k-1", 300).json()["payment_id"]

    first = funded.post(f"/payments/{payment_id}/refund")
    again = funded.post(f"/payments/{payment_id}/refund")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "REFUNDED"
    assert first.json()["payment_id"] == payment_id
    assert _balance(funded) == 1000
    assert funded.get(f"/payments/{payment_id}").json()["status"] == "REFUNDED"
    assert funded.post("/payments/nope/refund").status_code == 404
    assert funded.get("/payments/nope").status_code == 404
    assert_money_conserved(payments_app)


def test_payments_of_an_order_lists_only_that_order(funded: TestClient) -> None:
    one = _pay(funded, "k-1", 100, order="o-1").json()
    two = _pay(funded, "k-2", 200, order="o-1").json()
    _pay(funded, "k-3", 300, order="o-2")

    listed = funded.get("/payments", params={"order_id": "o-1"})

    assert listed.status_code == 200
    assert sorted(p["payment_id"] for p in listed.json()) == sorted(
        [one["payment_id"], two["payment_id"]]
    )
    assert funded.get("/payments", params={"order_id": "o-9"}).json() == []
    assert funded.get("/payments").status_code == 422


def test_money_is_conserved_through_a_sequence(funded: TestClient, payments_app: FastAPI) -> None:
    funded.put("/accounts/B-1", json={"balance_cents": 50})
    ids = [_pay(funded, f"k-{i}", 90 + i, order=f"o-{i}").json()["payment_id"] for i in range(5)]
    _pay(funded, "k-0", 90)  # replay
    _pay(funded, "k-poor", 10_000)  # refused
    funded.post(f"/payments/{ids[1]}/refund")
    funded.post(f"/payments/{ids[1]}/refund")
    funded.post(f"/payments/{ids[3]}/refund")
    funded.put("/accounts/A-1", json={"balance_cents": 10})
    funded.post(f"/payments/{ids[4]}/refund")

    assert _balance(funded) == 10 + 94
    assert_money_conserved(payments_app)
