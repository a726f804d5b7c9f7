"""Cancelling a confirmed order: refund, stock back, CANCELLED with one OrderCancelled."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sample_services.orders.models import OrderStatus
from tests.sample_services.orders.conftest import Orders, Wire, sqlite_only

pytestmark = pytest.mark.usefixtures("stocked")


def _confirmed(orders: Orders) -> str:
    order_id: str = orders.place(quantity=2)["order_id"]
    assert orders.saga.run(order_id) == OrderStatus.CONFIRMED
    return order_id


def test_cancel_refunds_returns_sold_stock_and_announces_it_once(
    orders: Orders, inventory: TestClient, payments: TestClient
) -> None:
    order_id = _confirmed(orders)

    response = orders.client.post(f"/orders/{order_id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    stock = inventory.get("/stock/SKU-1").json()
    assert (stock["available"], stock["sold"], stock["reserved"]) == (5, 0, 0)
    [payment] = payments.get("/payments", params={"order_id": order_id}).json()
    assert payment["status"] == "REFUNDED"
    assert payments.get("/accounts/ACC-1").json()["balance_cents"] == 10_000
    assert [row.type for row in orders.outbox()] == ["OrderConfirmed", "OrderCancelled"]
    steps = orders.saga_steps(order_id)
    assert (steps["refund"]["status"], steps["release"]["status"]) == ("SUCCEEDED", "SUCCEEDED")


@sqlite_only
def test_cancelling_again_answers_cancelled_and_changes_nothing(
    orders: Orders, payments_wire: Wire
) -> None:
    order_id = _confirmed(orders)
    first = orders.client.post(f"/orders/{order_id}/cancel")
    refunds = len(payments_wire.calls("POST", "/payments/"))

    again = orders.client.post(f"/orders/{order_id}/cancel")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(payments_wire.calls("POST", "/payments/")) == refunds
    assert len(orders.outbox()) == 2


@sqlite_only
def test_only_a_confirmed_order_can_be_cancelled(orders: Orders, payments: TestClient) -> None:
    pending = orders.place(key="k-pending")["order_id"]
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 0}).status_code == 200
    compensated = orders.place(key="k-compensated")["order_id"]
    assert orders.saga.run(compensated) == OrderStatus.COMPENSATED

    for order_id in (pending, compensated):
        response = orders.client.post(f"/orders/{order_id}/cancel")
        assert response.status_code == 409
        assert response.json()["code"] == "order_not_confirmed"
    assert orders.client.post("/orders/nope/cancel").status_code == 404
    assert orders.client.get(f"/orders/{pending}").json()["status"] == "PENDING"


def test_a_cancel_interrupted_by_an_outage_is_finished_by_the_saga(
    orders: Orders, payments_wire: Wire, payments: TestClient
) -> None:
    order_id = _confirmed(orders)
    payments_wire.fault = lambda _r: "refuse"

    response = orders.client.post(f"/orders/{order_id}/cancel")

    assert response.status_code == 503
    assert response.json()["code"] == "dependency_unavailable"
    assert orders.client.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED"

    payments_wire.fault = lambda _r: None
    assert orders.saga.run(order_id) == OrderStatus.CANCELLED
    [payment] = payments.get("/payments", params={"order_id": order_id}).json()
    assert payment["status"] == "REFUNDED"
    assert [row.type for row in orders.outbox()] == ["OrderConfirmed", "OrderCancelled"]
