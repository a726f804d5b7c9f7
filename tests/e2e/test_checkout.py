"""The whole sample fleet as real processes: six services, PostgreSQL, Redis, Toxiproxy.

A checkout through the gateway must end CONFIRMED and shipped; with payments stopped it
must end COMPENSATED with the stock back and no money taken.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import load_manifest
from tests.sample_services.conftest import eventually

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MANIFEST = Path(__file__).resolve().parents[2] / "sample_services" / "fleet.yaml"
SAGA_STEP_DEADLINE = 3.0
# Polls go through the gateway's per-client rate limit like any client's requests.
POLL = 0.2


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    manifest = load_manifest(MANIFEST)
    # A short deadline keeps the payments-down test to seconds; the saga logic is the same.
    manifest.services["orders"].env["SAGA_STEP_DEADLINE"] = str(SAGA_STEP_DEADLINE)
    with launch(manifest) as running:
        yield running


class Shop:
    """A client of the public gateway, as a customer's app would use it."""

    def __init__(self, fleet: Fleet) -> None:
        self.http = httpx.Client(base_url=fleet.url("gateway"), timeout=10.0)
        token = self.http.post(
            "/auth/token", json={"client_id": f"e2e-{uuid.uuid4().hex[:8]}", "scopes": ["admin"]}
        )
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def seed(self, sku: str, available: int, account: str, balance: int) -> None:
        assert self.http.put(f"/api/stock/{sku}", json={"available": available}).status_code == 200
        assert (
            self.http.put(f"/api/accounts/{account}", json={"balance_cents": balance}).status_code
            == 200
        )

    def place(self, sku: str, account: str, quantity: int, price: int) -> str:
        response = self.http.post(
            "/api/orders",
            json={
                "account_id": account,
                "items": [{"sku": sku, "quantity": quantity, "unit_price_cents": price}],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 202, response.text
        return str(response.json()["order_id"])

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/orders/{order_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def stock(self, sku: str) -> dict[str, Any]:
        response = self.http.get(f"/api/stock/{sku}")
        assert response.status_code == 200, response.text
        return dict(response.json())


def test_an_order_through_the_gateway_is_confirmed_and_shipped(fleet: Fleet) -> None:
    shop = Shop(fleet)
    # Fresh names: the test can run again on the same fleet (pytest --fault-matrix does).
    sku, account_id = f"sku-e2e-{uuid.uuid4().hex[:8]}", f"acct-e2e-{uuid.uuid4().hex[:8]}"
    shop.seed(sku, 10, account_id, 50_000)

    order_id = shop.place(sku, account_id, quantity=2, price=1_250)

    def shipped() -> dict[str, Any]:
        order = shop.order(order_id)
        assert order["status"] == "CONFIRMED", order
        assert order["shipment"] is not None, order
        return order

    order = eventually(shipped, timeout=20, interval=POLL)
    assert order["shipment"]["status"] == "CREATED"
    assert order["amount_cents"] == 2_500
    stock = shop.stock(sku)
    assert (stock["available"], stock["reserved"], stock["sold"]) == (8, 0, 2)
    account = shop.http.get(f"/api/accounts/{account_id}").json()
    assert account["balance_cents"] == 50_000 - 2_500


def test_with_payments_stopped_the_order_is_compensated_without_a_charge(fleet: Fleet) -> None:
    shop = Shop(fleet)
    shop.seed("sku-e2e-2", 5, "acct-e2e-2", 50_000)
    payments = fleet.service("payments").process

    payments.stop()
    try:
        order_id = shop.place("sku-e2e-2", "acct-e2e-2", quantity=3, price=1_000)

        def charge_given_up() -> dict[str, str]:
            response = shop.http.get(f"/api/orders/{order_id}/saga")
            assert response.status_code == 200, response.text
            saga = response.json()
            steps = {step["name"]: step["status"] for step in saga["steps"]}
            assert steps["charge"] == "FAILED", saga
            return steps

        eventually(charge_given_up, timeout=SAGA_STEP_DEADLINE + 20, interval=POLL)
        # Behind a proxy a stopped payments looks like a dropped connection, not a refusal:
        # the charge may have been taken, so the saga cannot finish until it can ask.
        assert shop.order(order_id)["status"] == "COMPENSATING"
    finally:
        payments.start()
        fleet.wait_ready("payments")

    def compensated() -> dict[str, Any]:
        order = shop.order(order_id)
        assert order["status"] == "COMPENSATED", order
        return order

    order = eventually(compensated, timeout=SAGA_STEP_DEADLINE + 20, interval=POLL)
    assert order["failure_reason"]
    stock = shop.stock("sku-e2e-2")
    assert (stock["available"], stock["reserved"], stock["sold"]) == (5, 0, 0)
    steps = charge_given_up()
    assert (steps["refund"], steps["release"]) == ("SUCCEEDED", "SUCCEEDED")
    # Ask payments itself (the gateway's breaker may still be open): nothing was taken.
    direct = httpx.get(f"{fleet.url('payments')}/payments", params={"order_id": order_id})
    assert direct.status_code == 200
    assert [p for p in direct.json() if p["status"] == "CAPTURED"] == []
    account = httpx.get(f"{fleet.url('payments')}/accounts/acct-e2e-2").json()
    assert account["balance_cents"] == 50_000
    # The fleet is whole again: a new order goes through.
    again = shop.place("sku-e2e-2", "acct-e2e-2", quantity=1, price=1_000)
    eventually(lambda: shop.order(again)["status"] == "CONFIRMED", timeout=20, interval=POLL)
