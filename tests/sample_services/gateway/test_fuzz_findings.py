"""Fixes for what fuzzing found in the gateway (pytest --fuzz, issue 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.sample_services.gateway.conftest import Fleet, bearer

ORDER: dict[str, Any] = {
    "order_id": "o-1",
    "status": "PENDING",
    "account_id": "acct-1",
    "items": [{"sku": "S1", "quantity": 2, "unit_price_cents": 300}],
    "amount_cents": 600,
    "failure_reason": None,
}


@pytest.fixture
def spec(fleet_factory: Callable[..., Fleet]) -> dict[str, Any]:
    document: dict[str, Any] = (
        fleet_factory(enable_token_issuer=True).gateway.get("/openapi.json").json()
    )
    return document


def test_the_openapi_says_the_order_idempotency_key_is_required(spec: dict[str, Any]) -> None:
    post = spec["paths"]["/api/orders"]["post"]
    keys = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert len(keys) == 1
    assert keys[0]["required"] is True
    assert keys[0]["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    # Cancelling takes one too, optionally.
    cancel = spec["paths"]["/api/orders/{order_id}/cancel"]["post"]
    assert [p["required"] for p in cancel["parameters"] if p["name"] == "Idempotency-Key"] == [
        False
    ]


def test_a_too_long_order_key_is_a_400_without_a_call(fleet: Fleet) -> None:
    response = fleet.gateway.post(
        "/api/orders",
        json={"account_id": "acct-1", "items": ORDER["items"]},
        headers={**bearer(), "Idempotency-Key": "k" * 256},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert fleet.calls() == 0


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/stock/{sku}", "put"), ("/api/accounts/{account_id}", "put"), ("/auth/token", "post")],
)
def test_routes_with_a_body_document_the_400_for_an_undecodable_one(
    spec: dict[str, Any], path: str, method: str
) -> None:
    assert "400" in spec["paths"][path][method]["responses"]


def test_an_undecodable_body_is_the_documented_400(fleet: Fleet) -> None:
    response = fleet.gateway.put(
        "/api/accounts/acct-1",
        content=b"\xff{",
        headers={**bearer(scopes="admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert fleet.calls() == 0


def test_sku_paths_have_inventorys_bound(spec: dict[str, Any], fleet: Fleet) -> None:
    # 128 characters passed the gateway and inventory answered 422 for a valid request.
    for method in ("get", "put"):
        (param,) = spec["paths"]["/api/stock/{sku}"][method]["parameters"]
        assert param["schema"]["maxLength"] == 100
    response = fleet.gateway.get("/api/stock/" + "s" * 101, headers=bearer())
    assert response.status_code == 422
    assert fleet.calls() == 0


def test_integral_numbers_are_accepted_as_integers(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("POST", "/orders", 202, ORDER)
    body = {
        "account_id": "acct-1",
        "items": [{"sku": "S1", "quantity": 2.0, "unit_price_cents": 300}],
    }
    response = fleet.gateway.post(
        "/api/orders", json=body, headers={**bearer(), "Idempotency-Key": "k-1"}
    )
    assert response.status_code == 202, response.text
    # Forwarded as the integer the backend's strict model expects.
    assert fleet.backends["orders"].calls[0].body == (
        b'{"account_id":"acct-1","items":[{"sku":"S1","quantity":2,"unit_price_cents":300}]}'
    )
