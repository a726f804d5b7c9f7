"""The checkout saga against the real inventory and payments apps."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from sample_services.orders import events
from sample_services.orders.models import OrderStatus
from sample_services.orders.saga import Unfinished
from tests.sample_services.conftest import eventually
from tests.sample_services.orders.conftest import (
    Crash,
    Fault,
    Orders,
    OrdersFactory,
    Wire,
    closed_port,
    sqlite_only,
)

pytestmark = pytest.mark.usefixtures("stocked")


def _stock(inventory: TestClient) -> dict[str, int]:
    body = inventory.get("/stock/SKU-1").json()
    return {k: body[k] for k in ("available", "reserved", "sold")}


def _payments(payments: TestClient, order_id: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = payments.get("/payments", params={"order_id": order_id}).json()
    return found


def _balance(payments: TestClient) -> int:
    balance: int = payments.get("/accounts/ACC-1").json()["balance_cents"]
    return balance


def test_happy_path_confirms_commits_stock_captures_payment_and_writes_one_event(
    orders: Orders, inventory: TestClient, payments: TestClient
) -> None:
    placed = orders.place(quantity=2)
    order_id = placed["order_id"]
    assert placed["status"] == "PENDING"
    assert placed["amount_cents"] == 600

    assert orders.saga.run(order_id) == OrderStatus.CONFIRMED

    order = orders.client.get(f"/orders/{order_id}").json()
    assert order["status"] == "CONFIRMED"
    assert order["failure_reason"] is None
    assert _stock(inventory) == {"available": 3, "reserved": 0, "sold": 2}
    captured = _payments(payments, order_id)
    assert [(p["status"], p["amount_cents"]) for p in captured] == [("CAPTURED", 600)]
    assert _balance(payments) == 9_400
    steps = orders.saga_steps(order_id)
    assert [(s["name"], s["status"], s["attempts"]) for s in steps.values()] == [
        ("reserve", "SUCCEEDED", 1),
        ("charge", "SUCCEEDED", 1),
        ("commit", "SUCCEEDED", 1),
    ]
    [row] = orders.outbox()
    assert (row.type, row.order_id, row.published_at) == ("OrderConfirmed", order_id, None)
    data = json.loads(row.data)
    assert data["order_id"] == order_id
    assert data["account_id"] == "ACC-1"
    assert data["amount_cents"] == 600
    assert data["items"] == [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 300}]


@sqlite_only
def test_the_background_worker_runs_the_saga_after_the_202(
    orders_factory: OrdersFactory, inventory: TestClient
) -> None:
    orders = orders_factory(saga_workers=2)
    order_id = orders.place()["order_id"]

    eventually(
        lambda: orders.client.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED",
        timeout=10,
    )
    assert _stock(inventory)["sold"] == 2


def test_insufficient_funds_compensates_and_returns_the_stock(
    orders: Orders, inventory: TestClient, payments: TestClient
) -> None:
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 100}).status_code == 200
    order_id = orders.place(quantity=2)["order_id"]

    assert orders.saga.run(order_id) == OrderStatus.COMPENSATED

    order = orders.client.get(f"/orders/{order_id}").json()
    assert order["failure_reason"] == "charge refused: insufficient_funds"
    assert _stock(inventory) == {"available": 5, "reserved": 0, "sold": 0}
    assert _payments(payments, order_id) == []
    assert _balance(payments) == 100
    steps = orders.saga_steps(order_id)
    assert steps["charge"]["status"] == "FAILED"
    assert steps["charge"]["attempts"] == 1
    assert steps["commit"]["status"] == "PENDING"
    assert steps["refund"]["status"] == "SKIPPED"
    assert steps["release"]["status"] == "SUCCEEDED"
    assert orders.outbox() == []


def test_insufficient_stock_compensates_without_ever_calling_payments(
    orders: Orders, inventory: TestClient, payments_wire: Wire
) -> None:
    order_id = orders.place(quantity=6)["order_id"]

    assert orders.saga.run(order_id) == OrderStatus.COMPENSATED

    order = orders.client.get(f"/orders/{order_id}").json()
    assert order["failure_reason"] == "reserve refused: insufficient_stock"
    assert payments_wire.hits == []
    assert _stock(inventory) == {"available": 5, "reserved": 0, "sold": 0}
    steps = orders.saga_steps(order_id)
    assert (steps["reserve"]["status"], steps["charge"]["attempts"]) == ("FAILED", 0)
    assert steps["refund"]["status"] == "SKIPPED"
    assert orders.outbox() == []


@sqlite_only
def test_unreachable_payments_compensates_within_the_deadline(
    orders_factory: OrdersFactory, inventory: TestClient, inventory_wire: Wire
) -> None:
    closed = httpx.Client(base_url=f"http://127.0.0.1:{closed_port()}", timeout=0.5)
    orders = orders_factory(http={"payments": closed})
    order_id = orders.place()["order_id"]

    started = time.monotonic()
    assert orders.saga.run(order_id) == OrderStatus.COMPENSATED
    elapsed = time.monotonic() - started

    deadline = orders.saga.settings.saga_step_deadline
    # The deadline plus one last attempt and the release: far from any unbounded wait.
    assert elapsed < deadline + 2.0
    steps = orders.saga_steps(order_id)
    assert steps["charge"]["status"] == "FAILED"
    assert steps["charge"]["attempts"] >= 2  # retried until the deadline, then gave up
    # Never reached: no refund to look for, so compensation does not need payments.
    assert steps["refund"]["status"] == "SKIPPED"
    assert _stock(inventory) == {"available": 5, "reserved": 0, "sold": 0}
    assert orders.client.get(f"/orders/{order_id}").json()["failure_reason"] == (
        "charge failed: payments unavailable"
    )
    assert len(inventory_wire.calls("DELETE", "/reservations/")) == 1
    closed.close()


def test_a_lost_charge_response_is_settled_by_replaying_its_key_and_refunded(
    orders: Orders, payments: TestClient, payments_wire: Wire, inventory: TestClient
) -> None:
    placed: dict[str, str] = {}

    def lose_forward_charges(r: httpx.Request) -> Fault | None:
        # Responses are lost while the saga moves forward; the compensation's replay of the
        # charge (same key) gets through and learns the one stored outcome.
        if r.method != "POST" or r.url.path != "/payments":
            return None
        charge = orders.saga_steps(placed["order_id"])["charge"]["status"]
        return "lose_response" if charge != "FAILED" else None

    payments_wire.fault = lose_forward_charges
    order_id = placed["order_id"] = orders.place()["order_id"]

    assert orders.saga.run(order_id) == OrderStatus.COMPENSATED

    charges = payments_wire.calls("POST", "/payments")
    charges = [r for r in charges if r.url.path == "/payments"]
    assert len(charges) >= 2
    assert {r.headers["Idempotency-Key"] for r in charges} == {f"{order_id}:charge"}
    # Every retry reached payments; the key made them one charge, which was refunded.
    [payment] = _payments(payments, order_id)
    assert payment["status"] == "REFUNDED"
    assert _balance(payments) == 10_000
    assert _stock(inventory) == {"available": 5, "reserved": 0, "sold": 0}
    assert orders.saga_steps(order_id)["refund"]["status"] == "SUCCEEDED"


@sqlite_only
def test_transient_errors_are_retried_and_the_saga_still_confirms(
    orders: Orders, inventory_wire: Wire, payments: TestClient
) -> None:
    failures: Iterator[Fault] = iter(["unavailable", "unavailable", "unavailable"])
    inventory_wire.fault = lambda r: (
        next(failures, None) if r.url.path.endswith("/commit") else None
    )
    order_id = orders.place()["order_id"]

    assert orders.saga.run(order_id) == OrderStatus.CONFIRMED

    assert len(inventory_wire.calls("POST", f"/reservations/{order_id}/commit")) == 4
    assert orders.saga_steps(order_id)["commit"]["attempts"] >= 2
    assert len(_payments(payments, order_id)) == 1


def test_a_crash_mid_saga_resumes_after_restart_without_charging_twice(
    orders_factory: OrdersFactory, payments_wire: Wire, payments: TestClient
) -> None:
    first = orders_factory()
    payments_wire.fault = lambda r: "crash" if r.url.path == "/payments" else None
    order_id = first.place()["order_id"]
    with pytest.raises(Crash):
        first.saga.run(order_id)
    steps = first.saga_steps(order_id)
    assert steps["reserve"]["status"] == "SUCCEEDED"
    assert (steps["charge"]["status"], steps["charge"]["attempts"]) == ("PENDING", 1)

    payments_wire.fault = lambda _r: None
    restarted = orders_factory(saga_workers=1)

    eventually(
        lambda: restarted.client.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED",
        timeout=10,
    )
    assert len(_payments(payments, order_id)) == 1
    assert len(restarted.outbox()) == 1


@sqlite_only
def test_an_order_accepted_before_a_crash_is_picked_up_by_the_next_start(
    orders_factory: OrdersFactory,
) -> None:
    without_worker = orders_factory()
    order_id = without_worker.place()["order_id"]

    restarted = orders_factory(saga_workers=1)

    eventually(
        lambda: restarted.client.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED",
        timeout=10,
    )


def test_the_outbox_row_commits_with_the_status_or_not_at_all(
    orders: Orders, monkeypatch: pytest.MonkeyPatch, payments: TestClient
) -> None:
    order_id = orders.place()["order_id"]

    def broken(order: events.OrderLike, **_kwargs: object) -> events.Event:
        raise RuntimeError("failure after the status update, inside the unit of work")

    with monkeypatch.context() as patch:
        patch.setattr(events, "order_confirmed", broken)
        with pytest.raises(RuntimeError, match="inside the unit of work"):
            orders.saga.run(order_id)

    assert orders.client.get(f"/orders/{order_id}").json()["status"] == "PENDING"
    assert orders.outbox() == []

    assert orders.saga.run(order_id) == OrderStatus.CONFIRMED
    assert [row.type for row in orders.outbox()] == ["OrderConfirmed"]
    assert len(_payments(payments, order_id)) == 1


def test_two_runs_of_one_saga_at_once_confirm_once(
    orders: Orders, payments: TestClient, inventory: TestClient
) -> None:
    order_id = orders.place()["order_id"]
    start = threading.Barrier(2)
    results: list[OrderStatus | None] = []

    def run() -> None:
        start.wait(timeout=5)
        results.append(orders.saga.run(order_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert results == [OrderStatus.CONFIRMED, OrderStatus.CONFIRMED]
    assert len(orders.outbox()) == 1
    assert len(_payments(payments, order_id)) == 1
    assert _stock(inventory) == {"available": 3, "reserved": 0, "sold": 2}


def test_an_undo_slower_than_the_step_deadline_is_still_tried_twice(
    orders: Orders, inventory_wire: Wire, payments: TestClient
) -> None:
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 0}).status_code == 200

    def slow_refusal(request: httpx.Request) -> Fault | None:
        if request.method != "DELETE":
            return None
        time.sleep(0.5)  # the callee's slowness is the fault: longer than the 0.4 s deadline
        return "refuse"

    inventory_wire.fault = slow_refusal
    order_id = orders.place()["order_id"]
    with pytest.raises(Unfinished):
        orders.saga.run(order_id)
    release = orders.saga_steps(order_id)["release"]
    assert release["status"] == "PENDING"
    assert release["attempts"] >= 2


def test_a_compensation_that_cannot_finish_yet_is_kept_and_finished_later(
    orders: Orders, inventory: TestClient, inventory_wire: Wire, payments: TestClient
) -> None:
    assert payments.put("/accounts/ACC-1", json={"balance_cents": 0}).status_code == 200
    inventory_wire.fault = lambda r: "refuse" if r.method == "DELETE" else None
    order_id = orders.place()["order_id"]

    with pytest.raises(Unfinished):
        orders.saga.run(order_id)

    assert orders.client.get(f"/orders/{order_id}").json()["status"] == "COMPENSATING"
    assert orders.saga.unfinished() == [order_id]
    release = orders.saga_steps(order_id)["release"]
    assert (release["status"], release["attempts"] >= 2) == ("PENDING", True)
    assert _stock(inventory)["reserved"] == 2

    inventory_wire.fault = lambda _r: None
    assert orders.saga.run(order_id) == OrderStatus.COMPENSATED
    assert _stock(inventory) == {"available": 5, "reserved": 0, "sold": 0}
    assert orders.saga.unfinished() == []
