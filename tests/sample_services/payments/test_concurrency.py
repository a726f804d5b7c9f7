"""Captures and refunds racing on one account, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.conftest import Race
from tests.sample_services.payments.audit import assert_money_conserved

CONTENDERS = 8


def _charge(client: TestClient, key: str, amount: int) -> Any:
    body = {"order_id": "o-" + key, "account_id": "A-1", "amount_cents": amount}
    return client.post("/payments", json=body, headers={"Idempotency-Key": key})


def test_concurrent_charges_never_overdraw(
    payments: TestClient, payments_app: FastAPI, race: Race
) -> None:
    payments.put("/accounts/A-1", json={"balance_cents": 100})

    outcomes = Counter(race(CONTENDERS, lambda i: _charge(payments, f"k-{i}", 30).status_code))

    assert outcomes == {201: 3, 402: CONTENDERS - 3}
    assert payments.get("/accounts/A-1").json()["balance_cents"] == 10
    assert_money_conserved(payments_app)


def test_concurrent_replays_of_one_key_charge_once(
    payments: TestClient, payments_app: FastAPI, race: Race
) -> None:
    payments.put("/accounts/A-1", json={"balance_cents": 1000})

    responses = race(CONTENDERS, lambda _i: _charge(payments, "same", 100))

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["payment_id"] for r in responses}) == 1
    assert payments.get("/accounts/A-1").json()["balance_cents"] == 900
    assert_money_conserved(payments_app)


def test_concurrent_refunds_credit_once(
    payments: TestClient, payments_app: FastAPI, race: Race
) -> None:
    payments.put("/accounts/A-1", json={"balance_cents": 1000})
    payment_id = _charge(payments, "k-1", 400).json()["payment_id"]

    statuses = race(
        CONTENDERS, lambda _i: payments.post(f"/payments/{payment_id}/refund").status_code
    )

    assert statuses == [200] * CONTENDERS
    assert payments.get("/accounts/A-1").json()["balance_cents"] == 1000
    assert_money_conserved(payments_app)
