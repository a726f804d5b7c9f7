"""The relay and shipping against a Redis container and their PostgreSQL container (orders,
whose outbox the relay reads, beside them), every edge through Toxiproxy: the broker is cut
and healed under traffic, and no event is lost or applied twice."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.fleet.lifecycle import Fleet
from sample_services.shipping.models import Base
from tests.component import checks

pytestmark = [pytest.mark.component, pytest.mark.docker, pytest.mark.slow]

BROKER = "redis"
DELIVERY_BOUND = 60.0


@pytest.fixture(scope="module")
def events(component: object) -> Fleet:
    fleet: Fleet = component("relay", "shipping")  # type: ignore[operator]
    return fleet


def _confirmed_orders(fleet: Fleet, count: int) -> list[str]:
    sku, account = f"sku-{uuid.uuid4().hex[:8]}", f"acct-{uuid.uuid4().hex[:8]}"
    assert httpx.put(f"{fleet.url('inventory')}/stock/{sku}", json={"available": 1000}).is_success
    put = httpx.put(f"{fleet.url('payments')}/accounts/{account}", json={"balance_cents": 10**8})
    assert put.is_success
    ids = []
    for _ in range(count):
        answer = httpx.post(
            f"{fleet.url('orders')}/orders",
            json={
                "account_id": account,
                "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 5}],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["order_id"])

    def confirmed() -> bool:
        return all(
            httpx.get(f"{fleet.url('orders')}/orders/{order}").json()["status"] == "CONFIRMED"
            for order in ids
        )

    checks.wait_until(f"{count} orders confirmed", confirmed, 90.0)
    return ids


def _shipped(fleet: Fleet, ids: list[str]) -> bool:
    return all(
        httpx.get(f"{fleet.url('shipping')}/shipments/{order}").status_code == 200 for order in ids
    )


def test_shipping_schema_from_empty_then_a_restart_keeps_the_data(events: Fleet) -> None:
    checks.tables_created(events, "shipping", Base.metadata.tables)
    (order,) = _confirmed_orders(events, 1)
    checks.wait_until("the order shipped", lambda: _shipped(events, [order]), DELIVERY_BOUND)
    checks.restart(events, "shipping")
    assert _shipped(events, [order])


def test_a_broker_cut_loses_nothing_and_applies_nothing_twice(events: Fleet) -> None:
    before = _confirmed_orders(events, 3)
    checks.wait_until(
        "orders before the cut shipped", lambda: _shipped(events, before), DELIVERY_BOUND
    )
    relay_edge, shipping_edge = events.edge(f"relay->{BROKER}"), events.edge(f"shipping->{BROKER}")
    with relay_edge.down(), shipping_edge.down():
        during = _confirmed_orders(events, 5)
        # Confirmed, written to the outbox, and waiting there: the broker is unreachable.
        waiting = checks.rows(
            events,
            "orders",
            "SELECT count(*) FROM outbox WHERE order_id = ANY(%s) AND published_at IS NULL",
            during,
        )
        assert waiting == [(5,)], waiting
        checks.wait_until(
            "relay and shipping unready without their broker",
            lambda: (
                checks.status(events, "relay", "/readyz") == 503
                and checks.status(events, "shipping", "/readyz") == 503
            ),
            checks.NOTICE_BOUND,
        )
        assert checks.status(events, "relay", "/healthz") == 200
    after = _confirmed_orders(events, 3)
    every = before + during + after
    checks.wait_until(
        "every order shipped once healed", lambda: _shipped(events, every), DELIVERY_BOUND
    )
    # Applied once: one shipment per order, one inbox row per event (a redelivery is only acked).
    twice = checks.rows(
        events,
        "shipping",
        "SELECT order_id, count(*) FROM shipments WHERE order_id = ANY(%s) "
        "GROUP BY order_id HAVING count(*) <> 1",
        every,
    )
    assert twice == []
    published = checks.rows(
        events,
        "orders",
        "SELECT count(*) FROM outbox WHERE order_id = ANY(%s) AND published_at IS NULL",
        every,
    )
    assert published == [(0,)]
    inbox = checks.rows(events, "shipping", "SELECT count(*), count(DISTINCT event_id) FROM inbox")
    assert inbox[0][0] == inbox[0][1]


def test_shipping_readyz_follows_the_database_edge_and_healthz_does_not(events: Fleet) -> None:
    checks.readiness_follows_database(events, "shipping")


def test_a_database_slower_than_its_timeouts_fails_shipping_requests_within_a_bound(
    events: Fleet,
) -> None:
    code, seconds = checks.bounded_under_latency(
        events, "shipping", "/shipments/unknown", latency_ms=20_000
    )
    assert code == 503, f"answered {code} after {seconds:.1f} s"
    assert seconds < 10.0, f"answered after {seconds:.1f} s"
