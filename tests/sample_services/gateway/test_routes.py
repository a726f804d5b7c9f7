"""Routing: each /api route reaches the right backend call and relays its answer."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.sample_services.gateway.conftest import Fleet, bearer

ORDER = {
    "order_id": "o-1",
    "status": "PENDING",
    "account_id": "acct-1",
    "items": [{"sku": "S1", "quantity": 2, "unit_price_cents": 150}],
    "amount_cents": 300,
    "failure_reason": None,
}
SHIPMENT = {"order_id": "o-1", "shipment_id": "sh-1", "status": "CREATED"}
STOCK = {"sku": "S1", "available": 5, "reserved": 1, "sold": 0, "received": 6}
ACCOUNT = {"account_id": "acct-1", "balance_cents": 900, "credited_cents": 1000}
PAYMENT = {
    "payment_id": "p-1",
    "order_id": "o-1",
    "account_id": "acct-1",
    "amount_cents": 100,
    "status": "CAPTURED",
}
SAGA = {
    "order_id": "o-1",
    "status": "CONFIRMED",
    "steps": [{"name": "reserve", "status": "DONE", "attempts": 1, "detail": None}],
}
NEW_ORDER: dict[str, Any] = {
    "account_id": "acct-1",
    "items": [{"sku": "S1", "quantity": 2, "unit_price_cents": 150}],
}


def admin() -> dict[str, str]:
    """An admin bearer minted when the request is made: a token built at import time expires
    while the suites collected before this one run."""
    return bearer(scopes="admin")


# (gateway method, gateway path, body, backend, backend method, backend path, answer)
ROUTES: list[tuple[str, str, Any, str, str, str, Any]] = [
    ("GET", "/api/orders/o-1/saga", None, "orders", "GET", "/orders/o-1/saga", SAGA),
    ("POST", "/api/orders/o-1/cancel", None, "orders", "POST", "/orders/o-1/cancel", ORDER),
    ("GET", "/api/stock/S1", None, "inventory", "GET", "/stock/S1", STOCK),
    ("PUT", "/api/stock/S1", {"available": 6}, "inventory", "PUT", "/stock/S1", STOCK),
    ("GET", "/api/accounts/acct-1", None, "payments", "GET", "/accounts/acct-1", ACCOUNT),
    (
        "PUT",
        "/api/accounts/acct-1",
        {"balance_cents": 1000},
        "payments",
        "PUT",
        "/accounts/acct-1",
        ACCOUNT,
    ),
    ("GET", "/api/payments/p-1", None, "payments", "GET", "/payments/p-1", PAYMENT),
    ("GET", "/api/shipments/o-1", None, "shipping", "GET", "/shipments/o-1", SHIPMENT),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "backend", "backend_method", "backend_path", "answer"),
    ROUTES,
    ids=[f"{r[0]} {r[1]}" for r in ROUTES],
)
def test_route_reaches_its_backend_and_relays_the_body(
    fleet: Fleet,
    method: str,
    path: str,
    body: Any,
    backend: str,
    backend_method: str,
    backend_path: str,
    answer: Any,
) -> None:
    fleet.backends[backend].answer(backend_method, backend_path, 200, answer)
    response = fleet.gateway.request(method, path, json=body, headers=admin())
    assert response.status_code == 200, response.text
    assert response.json() == answer
    calls = fleet.backends[backend].calls
    assert [(c.method, c.path) for c in calls] == [(backend_method, backend_path)]
    if body is not None:
        assert json.loads(calls[0].body) == body
    assert fleet.calls() == 1


def test_place_order_forwards_body_and_idempotency_key(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("POST", "/orders", 202, ORDER)
    response = fleet.gateway.post(
        "/api/orders", json=NEW_ORDER, headers={**bearer(), "Idempotency-Key": "key-1"}
    )
    assert response.status_code == 202, response.text
    assert response.json() == ORDER
    assert response.headers["location"] == "/api/orders/o-1"
    (call,) = fleet.backends["orders"].calls
    assert call.headers["idempotency-key"] == "key-1"
    assert json.loads(call.body) == NEW_ORDER


def test_place_order_without_idempotency_key_is_400_without_a_call(fleet: Fleet) -> None:
    response = fleet.gateway.post("/api/orders", json=NEW_ORDER, headers=bearer())
    assert response.status_code == 400
    assert response.json()["code"] == "missing_idempotency_key"
    assert fleet.calls() == 0


def test_cancel_forwards_an_idempotency_key_when_given(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("POST", "/orders/o-1/cancel", 200, ORDER)
    fleet.gateway.post("/api/orders/o-1/cancel", headers={**bearer(), "Idempotency-Key": "c-1"})
    assert fleet.backends["orders"].calls[0].headers["idempotency-key"] == "c-1"


@pytest.mark.parametrize(
    "body",
    [
        {"account_id": "acct-1", "items": [{"sku": "S1", "quantity": "2", "unit_price_cents": 1}]},
        {"account_id": "acct-1", "items": [{"sku": "S1", "quantity": 0, "unit_price_cents": 1}]},
        {"account_id": "acct-1", "items": [{"sku": "S1", "quantity": 1.5, "unit_price_cents": 1}]},
        {"account_id": "acct-1", "items": [{"sku": "S1", "quantity": True, "unit_price_cents": 1}]},
        {"account_id": "acct-1", "items": []},
        {"account_id": "acct-1", "items": [{"sku": "S1", "quantity": 1, "unit_price_cents": 0}]},
        {"account_id": "acct-1", "items": NEW_ORDER["items"] * 2},
        {**NEW_ORDER, "coupon": "FREE"},
        {"items": NEW_ORDER["items"]},
    ],
    ids=[
        "string-int",
        "zero",
        "float",
        "bool",
        "no-items",
        "free-line",
        "duplicate-sku",
        "extra-field",
        "no-account",
    ],
)
def test_strict_order_model_refuses_lax_input_without_a_call(
    fleet: Fleet, body: dict[str, Any]
) -> None:
    response = fleet.gateway.post(
        "/api/orders", json=body, headers={**bearer(), "Idempotency-Key": "k"}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert isinstance(problem["detail"], str)
    assert fleet.calls() == 0


@pytest.mark.parametrize("body", [{"available": -1}, {"available": "3"}, {"available": 1, "x": 1}])
def test_strict_stock_model(fleet: Fleet, body: dict[str, Any]) -> None:
    assert fleet.gateway.put("/api/stock/S1", json=body, headers=admin()).status_code == 422
    assert fleet.calls() == 0


@pytest.mark.parametrize("sku", ["..", ".hidden", "a%2Fb", "a b"])
def test_ids_that_could_escape_the_backend_path_are_refused(fleet: Fleet, sku: str) -> None:
    response = fleet.gateway.get(f"/api/stock/{sku}", headers=bearer())
    assert response.status_code in (404, 422)
    assert fleet.calls() == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/stock/S1", {"available": 1}), ("/api/accounts/acct-1", {"balance_cents": 1})],
)
def test_put_needs_scope_admin(fleet: Fleet, path: str, body: dict[str, int]) -> None:
    response = fleet.gateway.put(path, json=body, headers=bearer(scopes="orders:write"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "insufficient_scope" in response.headers["www-authenticate"]
    assert fleet.calls() == 0


def test_scopes_may_come_as_a_list_claim(fleet: Fleet) -> None:
    fleet.backends["inventory"].answer("PUT", "/stock/S1", 200, STOCK)
    headers = bearer(scopes="", claims={"scopes": ["admin"]})
    assert (
        fleet.gateway.put("/api/stock/S1", json={"available": 6}, headers=headers).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, {"detail": "no order o-1", "code": "not_found"}),
        (409, {"detail": "already cancelled", "code": "conflict"}),
        (402, {"detail": "insufficient funds", "code": "insufficient_funds"}),
    ],
)
def test_backend_4xx_passes_through_verbatim(
    fleet: Fleet, status: int, body: dict[str, str]
) -> None:
    fleet.backends["orders"].answer("POST", "/orders/o-1/cancel", status, body)
    response = fleet.gateway.post("/api/orders/o-1/cancel", headers=bearer())
    assert response.status_code == status
    assert response.json() == body


def test_backend_4xx_on_post_is_not_retried(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("POST", "/orders", 409, {"detail": "x", "code": "conflict"})
    headers = {**bearer(), "Idempotency-Key": "k"}
    assert fleet.gateway.post("/api/orders", json=NEW_ORDER, headers=headers).status_code == 409
    assert len(fleet.backends["orders"].calls) == 1


def test_backend_5xx_becomes_a_503_problem_after_retries(fleet: Fleet) -> None:
    fleet.backends["inventory"].answer("GET", "/stock/S1", 503, {"detail": "down", "code": "x"})
    response = fleet.gateway.get("/api/stock/S1", headers=bearer())
    assert response.status_code == 503
    assert response.json()["code"] == "dependency_unavailable"
    assert response.headers["retry-after"] == "1"
    # http_retry_attempts=2 in these tests: a GET is tried twice, never more.
    assert len(fleet.backends["inventory"].calls) == 2


def test_unreachable_backend_is_a_503_problem(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(real=("payments",), payments_url="http://127.0.0.1:9")
    response = fleet.gateway.get("/api/accounts/acct-1", headers=bearer())
    assert response.status_code == 503
    assert response.json() == {
        "detail": response.json()["detail"],
        "code": "dependency_unavailable",
    }
    assert response.json()["detail"].startswith("payments: cannot connect")


def test_a_backend_body_that_breaks_the_contract_is_a_503(fleet: Fleet) -> None:
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, {"sku": "S1"})
    response = fleet.gateway.get("/api/stock/S1", headers=bearer())
    assert response.status_code == 503
    assert "unexpected Stock body" in response.json()["detail"]


def test_unknown_fields_from_a_backend_are_not_published(fleet: Fleet) -> None:
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, {**STOCK, "internal": "x"})
    assert fleet.gateway.get("/api/stock/S1", headers=bearer()).json() == STOCK


# --- composition -----------------------------------------------------------------------


def test_order_is_composed_with_its_shipment(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
    fleet.backends["shipping"].answer("GET", "/shipments/o-1", 200, SHIPMENT)
    response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert response.status_code == 200
    assert response.json() == {**ORDER, "shipment": SHIPMENT}
    assert "x-degraded" not in response.headers


def test_order_without_a_shipment_yet_has_shipment_null(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
    response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert response.status_code == 200
    assert response.json() == {**ORDER, "shipment": None}
    assert "x-degraded" not in response.headers
    assert [c.path for c in fleet.backends["shipping"].calls] == ["/shipments/o-1"]


def test_order_is_still_served_when_shipping_is_unreachable(
    fleet_factory: Callable[..., Fleet],
) -> None:
    fleet = fleet_factory(real=("shipping",), shipping_url="http://127.0.0.1:9")
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
    response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert response.status_code == 200
    assert response.json() == {**ORDER, "shipment": None}
    assert response.headers["x-degraded"] == "shipping"


def test_a_slow_shipping_costs_the_order_one_short_lookup_not_every_retry(
    fleet_factory: Callable[..., Fleet],
) -> None:
    # Found by the fault matrix (gateway->shipping and shipping->postgres latency): the
    # order's read waited for every retry of an optional lookup. A listener that never
    # answers: each attempt would wait the whole read timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        fleet = fleet_factory(
            real=("shipping",),
            shipping_url=url,
            http_read_timeout=5.0,
            http_retry_attempts=3,
            shipment_lookup_budget=0.2,
        )
        fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
        began = time.monotonic()
        response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
        took = time.monotonic() - began
    assert response.status_code == 200
    assert response.headers["x-degraded"] == "shipping"
    # One read timeout of a retried lookup is 5 s; the answer came before the first.
    assert took < 5.0


def test_order_is_still_served_when_shipping_fails(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
    fleet.backends["shipping"].answer("GET", "/shipments/o-1", 503, {"detail": "x", "code": "x"})
    response = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert response.status_code == 200
    assert response.json()["shipment"] is None
    assert response.headers["x-degraded"] == "shipping"


def test_unknown_order_is_404_and_shipping_is_not_asked(fleet: Fleet) -> None:
    response = fleet.gateway.get("/api/orders/o-404", headers=bearer())
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert fleet.backends["shipping"].calls == []


def test_orders_unavailable_fails_the_composed_read(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("GET", "/orders/o-1", 503, {"detail": "x", "code": "x"})
    assert fleet.gateway.get("/api/orders/o-1", headers=bearer()).status_code == 503
