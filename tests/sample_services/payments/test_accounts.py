"""PUT/GET /accounts: balances, and the difference booked into `credited_cents`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.payments.audit import assert_money_conserved


def test_put_creates_and_sets_a_balance_booking_the_difference(
    payments: TestClient, payments_app: FastAPI
) -> None:
    unknown = payments.get("/accounts/A-1")
    created = payments.put("/accounts/A-1", json={"balance_cents": 1000})
    raised = payments.put("/accounts/A-1", json={"balance_cents": 1500})
    lowered = payments.put("/accounts/A-1", json={"balance_cents": 200})

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert created.status_code == 200
    assert created.json() == {"account_id": "A-1", "balance_cents": 1000, "credited_cents": 1000}
    assert raised.json()["credited_cents"] == 1500
    assert lowered.json() == {"account_id": "A-1", "balance_cents": 200, "credited_cents": 200}
    assert payments.get("/accounts/A-1").json() == lowered.json()
    assert_money_conserved(payments_app)
