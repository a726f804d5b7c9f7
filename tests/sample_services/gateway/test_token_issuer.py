"""The dev token issuer: off unless enabled; its tokens carry exp and work on /api."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from sample_services.gateway.settings import DEV_JWT_SECRET
from tests.sample_services.gateway.conftest import Fleet, bearer

STOCK = {"sku": "S1", "available": 5, "reserved": 0, "sold": 0, "received": 5}


@pytest.fixture
def issuing(fleet_factory: Callable[..., Fleet]) -> Fleet:
    fleet = fleet_factory(
        enable_token_issuer=True, jwt_ttl=120, jwt_issuer="gw", jwt_audience="fleet"
    )
    fleet.backends["inventory"].answer("PUT", "/stock/S1", 200, STOCK)
    return fleet


def test_issuer_is_absent_unless_enabled(fleet: Fleet) -> None:
    assert fleet.gateway.post("/auth/token", json={"client_id": "c"}).status_code == 404


def test_issued_token_has_exp_scopes_iss_aud(issuing: Fleet) -> None:
    before = int(time.time())
    response = issuing.gateway.post(
        "/auth/token", json={"client_id": "svc-1", "scopes": ["admin", "orders", "admin"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 120
    claims = jwt.decode(
        body["access_token"], DEV_JWT_SECRET, algorithms=["HS256"], audience="fleet"
    )
    assert claims["sub"] == "svc-1"
    assert claims["iss"] == "gw"
    assert claims["scope"] == "admin orders"
    assert before <= claims["iat"] <= claims["exp"] - 120 <= int(time.time())


def test_issued_admin_token_opens_put_routes(issuing: Fleet) -> None:
    token = issuing.gateway.post(
        "/auth/token", json={"client_id": "ops", "scopes": ["admin"]}
    ).json()["access_token"]
    response = issuing.gateway.put("/api/stock/S1", json={"available": 5}, headers=bearer(token))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"client_id": ""},
        {"client_id": 7},
        {"client_id": "c", "scopes": "admin"},
        {"client_id": "c", "scopes": ["has space"]},
        {"client_id": "c", "role": "root"},
    ],
    ids=["empty", "blank-id", "int-id", "scopes-string", "scope-space", "extra"],
)
def test_token_request_is_strict(issuing: Fleet, body: dict[str, Any]) -> None:
    assert issuing.gateway.post("/auth/token", json=body).status_code == 422
