"""inventory against its own PostgreSQL container, its database edge through Toxiproxy."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.fleet.lifecycle import Fleet
from sample_services.inventory.models import Base
from tests.component import checks

pytestmark = [pytest.mark.component, pytest.mark.docker, pytest.mark.slow]

SERVICE = "inventory"


@pytest.fixture(scope="module")
def inventory(component: object) -> Fleet:
    fleet: Fleet = component(SERVICE)  # type: ignore[operator]
    return fleet


def test_schema_from_empty_then_a_restart_keeps_the_data(inventory: Fleet) -> None:
    checks.tables_created(inventory, SERVICE, Base.metadata.tables)
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    url = inventory.url(SERVICE)
    assert httpx.put(f"{url}/stock/{sku}", json={"available": 7}).status_code == 200
    checks.restart(inventory, SERVICE)
    stock = httpx.get(f"{url}/stock/{sku}").json()
    assert (stock["available"], stock["received"]) == (7, 7)


def test_concurrent_duplicate_reservations_hold_stock_once(inventory: Fleet) -> None:
    url = inventory.url(SERVICE)
    sku, order = f"sku-{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4().hex[:8]}"
    assert httpx.put(f"{url}/stock/{sku}", json={"available": 10}).status_code == 200
    body = {"order_id": order, "items": [{"sku": sku, "quantity": 3}]}
    answers = checks.concurrently(
        8, lambda: httpx.post(f"{url}/reservations", json=body, timeout=30)
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {200, 201}, codes
    assert codes.count(201) == 1, f"one reservation is made, the rest replay it: {codes}"
    stock = httpx.get(f"{url}/stock/{sku}").json()
    assert (stock["available"], stock["reserved"]) == (7, 3)
    # Decided by the database: one reservation row, one movement holding the stock.
    assert checks.rows(
        inventory, SERVICE, "SELECT count(*) FROM reservations WHERE order_id = %s", order
    ) == [(1,)]
    moved = checks.rows(
        inventory,
        SERVICE,
        "SELECT coalesce(sum(delta_reserved), 0) FROM stock_movements WHERE sku = %s",
        sku,
    )
    assert moved == [(3,)]


def test_readyz_follows_the_database_edge_and_healthz_does_not(inventory: Fleet) -> None:
    checks.readiness_follows_database(inventory, SERVICE)


def test_a_database_slower_than_its_timeouts_fails_requests_within_a_bound(
    inventory: Fleet,
) -> None:
    code, seconds = checks.bounded_under_latency(
        inventory, SERVICE, "/stock/unknown-sku", latency_ms=20_000
    )
    assert code == 503, f"answered {code} after {seconds:.1f} s"
    assert seconds < 10.0, f"answered after {seconds:.1f} s"
    checks.wait_until(
        "inventory ready again",
        lambda: checks.status(inventory, SERVICE, "/readyz") == 200,
        checks.NOTICE_BOUND,
    )
