"""orders against its own PostgreSQL container (inventory and payments, which it calls,
beside it), its database edge through Toxiproxy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from harness.fleet.lifecycle import Fleet
from sample_services.orders.models import Base
from tests.component import checks

pytestmark = [pytest.mark.component, pytest.mark.docker, pytest.mark.slow]

SERVICE = "orders"
FINAL = {"CONFIRMED", "COMPENSATED", "CANCELLED"}
SETTLE_BOUND = 90.0


@pytest.fixture(scope="module")
def orders(component: object) -> Fleet:
    fleet: Fleet = component(SERVICE)  # type: ignore[operator]
    return fleet


@pytest.fixture(scope="module")
def goods(orders: Fleet) -> dict[str, str]:
    """A sku with plenty of stock and an account with plenty of money."""
    sku, account = f"sku-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:8]}"
    put = httpx.put(f"{orders.url('inventory')}/stock/{sku}", json={"available": 100_000})
    assert put.status_code == 200
    put = httpx.put(f"{orders.url('payments')}/accounts/{account}", json={"balance_cents": 10**9})
    assert put.status_code == 200
    return {"sku": sku, "account": account}


def _place(orders: Fleet, goods: dict[str, str], key: str) -> httpx.Response:
    body = {
        "account_id": goods["account"],
        "items": [{"sku": goods["sku"], "quantity": 1, "unit_price_cents": 100}],
    }
    return httpx.post(
        f"{orders.url(SERVICE)}/orders", json=body, headers={"Idempotency-Key": key}, timeout=30
    )


def _settle(orders: Fleet, ids: list[str]) -> dict[str, str]:
    statuses: dict[str, str] = {}

    def settled() -> bool:
        for order in ids:
            if statuses.get(order) not in FINAL:
                answer = httpx.get(f"{orders.url(SERVICE)}/orders/{order}", timeout=5)
                statuses[order] = answer.json()["status"] if answer.status_code == 200 else "?"
        return all(statuses[order] in FINAL for order in ids)

    checks.wait_until(f"{len(ids)} sagas finished", settled, SETTLE_BOUND)
    return statuses


def test_schema_from_empty_then_a_restart_keeps_the_data(
    orders: Fleet, goods: dict[str, str]
) -> None:
    checks.tables_created(orders, SERVICE, Base.metadata.tables)
    placed = _place(orders, goods, f"key-{uuid.uuid4().hex}")
    assert placed.status_code == 202
    order = placed.json()["order_id"]
    checks.restart(orders, SERVICE)
    assert httpx.get(f"{orders.url(SERVICE)}/orders/{order}").status_code == 200
    _settle(orders, [order])


def test_concurrent_duplicate_orders_make_one_order(orders: Fleet, goods: dict[str, str]) -> None:
    key = f"key-{uuid.uuid4().hex}"
    answers = checks.concurrently(8, lambda: _place(orders, goods, key))
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {202}, codes
    ids = {a.json()["order_id"] for a in answers}
    assert len(ids) == 1, ids
    replayed = [a.headers.get("Idempotent-Replayed") == "true" for a in answers]
    assert replayed.count(False) == 1, "one request placed the order, the others replayed it"
    assert checks.rows(
        orders, SERVICE, "SELECT count(*) FROM idempotency_keys WHERE key = %s", key
    ) == [(1,)]
    (order,) = ids
    assert checks.rows(orders, SERVICE, "SELECT count(*) FROM orders WHERE id = %s", order) == [
        (1,)
    ]
    _settle(orders, [order])


def test_outbox_rows_and_state_changes_commit_together_through_kills_and_cuts(
    orders: Fleet, goods: dict[str, str]
) -> None:
    """Sagas in flight when orders is SIGKILLed, then when its database edge is cut:
    afterwards every CONFIRMED order has exactly one OrderConfirmed outbox row, no other
    order has one, and no order was charged twice."""
    accepted: list[str] = []

    def batch(count: int) -> None:
        for _ in range(count):
            answer = _place(orders, goods, f"key-{uuid.uuid4().hex}")
            if answer.status_code == 202:
                accepted.append(answer.json()["order_id"])

    batch(12)
    orders.services[SERVICE].process.kill()  # sagas mid-flight: some mid-transaction
    orders.services[SERVICE].process.start()
    orders.wait_ready(SERVICE, timeout=60)
    batch(12)
    with orders.edge(f"{SERVICE}->{checks.DB_SERVER}").down():
        batch(3)  # refused (503) while the database is unreachable: not accepted
        checks.wait_until(
            "orders unready without its database",
            lambda: checks.status(orders, SERVICE, "/readyz") == 503,
            checks.NOTICE_BOUND,
        )
    assert len(accepted) >= 20, f"only {len(accepted)} orders accepted"
    statuses = _settle(orders, accepted)
    outbox: dict[str, Any] = dict(
        checks.rows(
            orders,
            SERVICE,
            "SELECT order_id, count(*) FROM outbox WHERE type = 'OrderConfirmed' "
            "AND order_id = ANY(%s) GROUP BY order_id",
            accepted,
        )
    )
    wrong = {
        order: (statuses[order], outbox.get(order, 0))
        for order in accepted
        if outbox.get(order, 0) != (1 if statuses[order] == "CONFIRMED" else 0)
    }
    assert not wrong, f"status and OrderConfirmed rows disagree (status, rows): {wrong}"
    assert "CONFIRMED" in statuses.values()
    charged = checks.rows(
        orders,
        "payments",
        "SELECT order_id, count(*) FROM payments WHERE order_id = ANY(%s) "
        "GROUP BY order_id HAVING count(*) > 1",
        accepted,
    )
    assert charged == [], f"orders charged more than once: {charged}"


def test_readyz_follows_the_database_edge_and_healthz_does_not(orders: Fleet) -> None:
    checks.readiness_follows_database(orders, SERVICE)


def test_a_database_slower_than_its_timeouts_fails_requests_within_a_bound(
    orders: Fleet,
) -> None:
    code, seconds = checks.bounded_under_latency(
        orders, SERVICE, "/orders/unknown", latency_ms=20_000
    )
    assert code == 503, f"answered {code} after {seconds:.1f} s"
    assert seconds < 10.0, f"answered after {seconds:.1f} s"
    checks.wait_until(
        "orders ready again",
        lambda: checks.status(orders, SERVICE, "/readyz") == 200,
        checks.NOTICE_BOUND,
    )
