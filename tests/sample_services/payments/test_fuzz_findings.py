"""Fixes for what fuzzing found in payments (pytest --fuzz, issue 5)."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_integral_numbers_are_accepted_as_integers(hooked_payments: TestClient) -> None:
    account = hooked_payments.put("/accounts/acct-f", json={"balance_cents": 1000.0})
    assert account.status_code == 200
    assert account.json()["balance_cents"] == 1000

    payment = {"order_id": "o-f", "account_id": "acct-f", "amount_cents": 300.0}
    first = hooked_payments.post("/payments", json=payment, headers={"Idempotency-Key": "k-f"})
    assert first.status_code == 201, first.text
    assert first.json()["amount_cents"] == 300
    # 300.0 and 300 are one body: the replay charges nothing more.
    replay = hooked_payments.post(
        "/payments", json={**payment, "amount_cents": 300}, headers={"Idempotency-Key": "k-f"}
    )
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert hooked_payments.get("/accounts/acct-f").json()["balance_cents"] == 700


def test_options_lists_every_method_of_the_payments_path(hooked_payments: TestClient) -> None:
    response = hooked_payments.options("/payments")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
