"""Stale-if-error: a read the gateway answered once is answered from its memory while the
backend is out - marked `X-Degraded: <backend>` with its `Age` - within `stale_if_error`
seconds; never for a write, never over a 4xx (an answer, not an outage), never past the
bound. Found by the fault matrix: every read cell on a backend or its database was a 503."""

from __future__ import annotations

from collections.abc import Callable

from tests.sample_services.gateway.conftest import Fleet, bearer
from tests.sample_services.gateway.test_routes import ACCOUNT, ORDER, SHIPMENT, STOCK

DOWN = {"detail": "down", "code": "x"}


def test_a_read_answered_once_is_answered_from_memory_while_its_backend_is_out(
    fleet: Fleet,
) -> None:
    inventory = fleet.backends["inventory"]
    inventory.answer("GET", "/stock/S1", 200, STOCK)
    fresh = fleet.gateway.get("/api/stock/S1", headers=bearer())
    assert fresh.status_code == 200
    assert "x-degraded" not in fresh.headers
    assert "age" not in fresh.headers

    inventory.answer("GET", "/stock/S1", 503, DOWN)
    fleet.clock.advance(42)
    stale = fleet.gateway.get("/api/stock/S1", headers=bearer())
    assert stale.status_code == 200
    assert stale.json() == STOCK
    assert stale.headers["x-degraded"] == "inventory"
    assert stale.headers["age"] == "42"
    # The backend was asked first (its retries spent): memory is the fallback, not a cache.
    assert [c.path for c in inventory.calls] == ["/stock/S1"] * 3

    # Another key was never answered: nothing to fall back on.
    inventory.answer("GET", "/stock/S2", 503, DOWN)
    assert fleet.gateway.get("/api/stock/S2", headers=bearer()).status_code == 503


def test_past_stale_if_error_the_outage_is_a_503_again(fleet: Fleet) -> None:
    payments = fleet.backends["payments"]
    payments.answer("GET", "/accounts/acct-1", 200, ACCOUNT)
    assert fleet.gateway.get("/api/accounts/acct-1", headers=bearer()).status_code == 200
    payments.answer("GET", "/accounts/acct-1", 503, DOWN)
    fleet.clock.advance(299)
    assert fleet.gateway.get("/api/accounts/acct-1", headers=bearer()).status_code == 200
    fleet.clock.advance(2)
    late = fleet.gateway.get("/api/accounts/acct-1", headers=bearer())
    assert late.status_code == 503
    assert late.json()["code"] == "dependency_unavailable"


def test_a_4xx_is_an_answer_and_is_relayed(fleet: Fleet) -> None:
    inventory = fleet.backends["inventory"]
    inventory.answer("GET", "/stock/S1", 200, STOCK)
    assert fleet.gateway.get("/api/stock/S1", headers=bearer()).status_code == 200
    inventory.answer("GET", "/stock/S1", 404, {"detail": "no sku S1", "code": "not_found"})
    assert fleet.gateway.get("/api/stock/S1", headers=bearer()).status_code == 404


def test_a_write_is_never_answered_from_memory(fleet: Fleet) -> None:
    inventory = fleet.backends["inventory"]
    inventory.answer("PUT", "/stock/S1", 200, STOCK)
    admin = bearer(scopes="admin")
    assert fleet.gateway.put("/api/stock/S1", json={"available": 5}, headers=admin).is_success
    inventory.answer("PUT", "/stock/S1", 503, DOWN)
    assert (
        fleet.gateway.put("/api/stock/S1", json={"available": 5}, headers=admin).status_code == 503
    )


def test_the_order_read_falls_back_whole(fleet: Fleet) -> None:
    fleet.backends["orders"].answer("GET", "/orders/o-1", 200, ORDER)
    fleet.backends["shipping"].answer("GET", "/shipments/o-1", 200, SHIPMENT)
    fresh = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert fresh.status_code == 200
    fleet.backends["orders"].answer("GET", "/orders/o-1", 503, DOWN)
    stale = fleet.gateway.get("/api/orders/o-1", headers=bearer())
    assert stale.status_code == 200
    assert stale.json() == fresh.json()
    assert stale.json()["shipment"] == SHIPMENT
    assert stale.headers["x-degraded"] == "orders"


def test_stale_if_error_zero_turns_it_off(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(stale_if_error=0)
    fleet.backends["inventory"].answer("GET", "/stock/S1", 200, STOCK)
    assert fleet.gateway.get("/api/stock/S1", headers=bearer()).status_code == 200
    fleet.backends["inventory"].answer("GET", "/stock/S1", 503, DOWN)
    assert fleet.gateway.get("/api/stock/S1", headers=bearer()).status_code == 503
