"""Fixes for what fuzzing found in orders (pytest --fuzz, issue 5)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.sample_services.orders.test_api import BODY, hooked  # noqa: F401  (fixture)


def test_the_openapi_says_the_idempotency_key_is_required(hooked: TestClient) -> None:  # noqa: F811
    # It was an optional header there, so Schemathesis sent valid requests without one
    # and counted the documented 400 as a rejection of valid data.
    post = hooked.get("/openapi.json").json()["paths"]["/orders"]["post"]
    keys = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert keys == [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "The same key and body replay the first response; one order per key",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    ]


def test_a_missing_or_too_long_key_is_still_a_400(hooked: TestClient) -> None:  # noqa: F811
    missing = hooked.post("/orders", json=BODY)
    assert missing.status_code == 400
    assert missing.json()["code"] == "missing_idempotency_key"
    long = hooked.post("/orders", json=BODY, headers={"Idempotency-Key": "k" * 256})
    assert long.status_code == 400
    assert long.json()["code"] == "invalid_idempotency_key"


def test_integral_numbers_are_accepted_as_integers(hooked: TestClient) -> None:  # noqa: F811
    body: dict[str, Any] = {
        "account_id": "ACC-1",
        "items": [{"sku": "SKU-1", "quantity": 2.0, "unit_price_cents": 300.0}],
    }
    response = hooked.post("/orders", json=body, headers={"Idempotency-Key": "k-float"})
    assert response.status_code == 202, response.text
    assert response.json()["items"] == BODY["items"]
    assert response.json()["amount_cents"] == 600
    replay = hooked.post("/orders", json=BODY, headers={"Idempotency-Key": "k-float"})
    assert replay.status_code == 202
    assert replay.json()["order_id"] == response.json()["order_id"]
