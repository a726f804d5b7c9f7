"""The orders HTTP surface: idempotent POST, strict bodies, views, hooks, health, metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from sample_services.orders.app import create_app
from sample_services.orders.models import Order
from tests.sample_services.conftest import eventually
from tests.sample_services.orders.conftest import Orders, closed_port, fast_settings, sqlite_only

BODY: dict[str, Any] = {
    "account_id": "ACC-1",
    "items": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 300}],
}


def _count_orders(orders: Orders) -> int:
    with orders.app.state.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[TestClient]:
    """SQLite only, downstreams on a closed port: what it checks needs neither."""
    url = f"http://127.0.0.1:{closed_port()}"
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'orders.db'}",
        enable_test_hooks=True,
        inventory_url=url,
        payments_url=url,
        saga_workers=1,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@sqlite_only
def test_post_answers_202_with_location_and_a_pending_order(orders: Orders) -> None:
    response = orders.client.post("/orders", json=BODY, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 202
    body = response.json()
    assert response.headers["Location"] == f"/orders/{body['order_id']}"
    assert body == {
        "order_id": body["order_id"],
        "status": "PENDING",
        "account_id": "ACC-1",
        "items": BODY["items"],
        "amount_cents": 600,
        "failure_reason": None,
    }
    assert orders.client.get(response.headers["Location"]).json() == body
    saga = orders.client.get(f"/orders/{body['order_id']}/saga").json()
    assert saga["status"] == "PENDING"
    assert [(s["name"], s["status"], s["attempts"]) for s in saga["steps"]] == [
        ("reserve", "PENDING", 0),
        ("charge", "PENDING", 0),
        ("commit", "PENDING", 0),
    ]


def test_a_replay_answers_the_same_and_creates_one_order(orders: Orders) -> None:
    first = orders.client.post("/orders", json=BODY, headers={"Idempotency-Key": "k-1"})
    again = orders.client.post("/orders", json=BODY, headers={"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count_orders(orders) == 1


def test_the_same_key_with_another_body_is_a_conflict(orders: Orders) -> None:
    orders.client.post("/orders", json=BODY, headers={"Idempotency-Key": "k-1"})
    other = {**BODY, "account_id": "ACC-2"}

    response = orders.client.post("/orders", json=other, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert _count_orders(orders) == 1


def test_post_without_an_idempotency_key_is_refused(hooked: TestClient) -> None:
    response = hooked.post("/orders", json=BODY)

    assert response.status_code == 400
    assert response.json()["code"] == "missing_idempotency_key"


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "items": [{"sku": "SKU-1", "quantity": "2", "unit_price_cents": 300}]},
        {**BODY, "items": [{"sku": "SKU-1", "quantity": True, "unit_price_cents": 300}]},
        {**BODY, "items": [{"sku": "SKU-1", "quantity": 0, "unit_price_cents": 300}]},
        {**BODY, "items": [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 0}]},
        {**BODY, "items": []},
        {**BODY, "items": BODY["items"] * 2},
        {**BODY, "extra": 1},
        {"items": BODY["items"]},
        {**BODY, "account_id": "bad id"},
    ],
    ids=[
        "string-quantity",
        "bool-quantity",
        "zero-quantity",
        "free-line",
        "no-lines",
        "duplicate-sku",
        "extra-field",
        "no-account",
        "bad-account",
    ],
)
def test_bodies_are_strict(hooked: TestClient, body: dict[str, Any]) -> None:
    response = hooked.post("/orders", json=body, headers={"Idempotency-Key": "k-strict"})

    assert response.status_code == 422


def test_unknown_orders_are_404(hooked: TestClient) -> None:
    for path in ("/orders/nope", "/orders/nope/saga"):
        response = hooked.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_provider_states_set_up_orders_and_keep_a_pending_one_pending(
    hooked: TestClient,
) -> None:
    def state(name: str, **params: Any) -> None:
        response = hooked.post("/_test/provider-states", json={"state": name, "params": params})
        assert response.status_code == 200, response.text

    items = [{"sku": "SKU-9", "quantity": 3, "unit_price_cents": 100}]
    state("order {order_id} is CONFIRMED", order_id="O-1", items=items, account_id="ACC-7")
    state("order {order_id} is PENDING", order_id="O-2")
    state("order {order_id} is CANCELLED", order_id="O-3")
    state("order {order_id} is COMPENSATED", order_id="O-4")

    confirmed = hooked.get("/orders/O-1").json()
    assert confirmed["status"] == "CONFIRMED"
    assert (confirmed["items"], confirmed["amount_cents"], confirmed["account_id"]) == (
        items,
        300,
        "ACC-7",
    )
    assert hooked.get("/orders/O-3").json()["status"] == "CANCELLED"
    assert hooked.get("/orders/O-4").json()["status"] == "COMPENSATED"
    # The worker runs (its downstreams are unreachable), yet a parked order stays put.
    worker = hooked.app.state.worker  # type: ignore[attr-defined]
    eventually(lambda: worker.saga.unfinished() == ["O-2"], timeout=5)
    assert hooked.get("/orders/O-2").json()["status"] == "PENDING"

    # Driven within the request: downstreams unreachable, so it compensates at once.
    state("saga of order {order_id} has run", order_id="O-2")
    assert hooked.get("/orders/O-2").json()["failure_reason"] == (
        "reserve failed: inventory unavailable"
    )

    state("no order {order_id}", order_id="O-1")
    assert hooked.get("/orders/O-1").status_code == 404
    assert hooked.post("/_test/reset").status_code == 200
    assert hooked.get("/orders/O-3").status_code == 404


@sqlite_only
def test_hooks_are_absent_without_the_flag_and_from_the_openapi(
    orders: Orders, hooked: TestClient
) -> None:
    assert orders.client.post("/_test/reset").status_code == 404
    schema = hooked.get("/openapi.json").json()
    assert not [path for path in schema["paths"] if path.startswith("/_test")]
    post = schema["paths"]["/orders"]["post"]
    assert {"202", "400", "409", "422", "503"} <= set(post["responses"])
    assert post["summary"]
    cancel = schema["paths"]["/orders/{order_id}/cancel"]["post"]
    assert {"200", "404", "409", "503"} <= set(cancel["responses"])


def test_readiness_looks_at_the_database_only(hooked: TestClient) -> None:
    # The downstreams are unreachable here, and orders is still ready to accept orders.
    response = hooked.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


@pytest.mark.usefixtures("stocked")
@sqlite_only
def test_metrics_show_breakers_and_saga_outcomes(orders: Orders, payments: TestClient) -> None:
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 0}).status_code == 200
    order_id = orders.place()["order_id"]
    orders.saga.run(order_id)

    text = orders.client.get("/metrics").text

    assert 'circuit_breaker_state{downstream="inventory"} 0.0' in text
    assert 'circuit_breaker_state{downstream="payments"} 0.0' in text
    assert 'saga_finished_total{status="COMPENSATED"} 1.0' in text
    assert 'saga_step_attempts_total{outcome="refused",step="charge"} 1.0' in text
