"""Reservations racing for the same units, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.conftest import Race
from tests.sample_services.inventory.audit import assert_conserved

CONTENDERS = 8


def test_exactly_one_order_gets_the_last_unit(
    inventory: TestClient, inventory_app: FastAPI, race: Race
) -> None:
    inventory.put("/stock/LAST", json={"available": 1})

    def reserve(i: int) -> tuple[int, str]:
        response = inventory.post(
            "/reservations", json={"order_id": f"o-{i}", "items": [{"sku": "LAST", "quantity": 1}]}
        )
        return response.status_code, response.json().get("code", "")

    outcomes = Counter(race(CONTENDERS, reserve))

    assert outcomes == {(201, ""): 1, (409, "insufficient_stock"): CONTENDERS - 1}
    stock = inventory.get("/stock/LAST").json()
    assert (stock["available"], stock["reserved"]) == (0, 1)
    assert_conserved(inventory_app)


def test_multi_sku_orders_in_opposite_order_neither_deadlock_nor_oversell(
    inventory: TestClient, inventory_app: FastAPI, race: Race
) -> None:
    inventory.put("/stock/X", json={"available": 3})
    inventory.put("/stock/Y", json={"available": 3})

    def reserve(i: int) -> int:
        lines = [{"sku": "X", "quantity": 1}, {"sku": "Y", "quantity": 1}]
        items = lines if i % 2 else lines[::-1]
        response = inventory.post("/reservations", json={"order_id": f"o-{i}", "items": items})
        status: int = response.status_code
        return status

    outcomes = Counter(race(CONTENDERS, reserve))

    assert outcomes == {201: 3, 409: CONTENDERS - 3}
    assert inventory.get("/stock/X").json()["available"] == 0
    assert inventory.get("/stock/Y").json()["available"] == 0
    assert_conserved(inventory_app)


def test_twins_of_one_order_hold_its_stock_once(
    inventory: TestClient, inventory_app: FastAPI, race: Race
) -> None:
    inventory.put("/stock/A", json={"available": 10})
    body = {"order_id": "twin", "items": [{"sku": "A", "quantity": 2}]}

    statuses = race(CONTENDERS, lambda _i: inventory.post("/reservations", json=body).status_code)

    assert sorted(statuses) == [200] * (CONTENDERS - 1) + [201]
    assert inventory.get("/stock/A").json()["reserved"] == 2
    assert_conserved(inventory_app)


def test_concurrent_releases_return_the_units_once(
    inventory: TestClient, inventory_app: FastAPI, race: Race
) -> None:
    inventory.put("/stock/A", json={"available": 4})
    inventory.post(
        "/reservations", json={"order_id": "o-1", "items": [{"sku": "A", "quantity": 3}]}
    )

    statuses = race(CONTENDERS, lambda _i: inventory.delete("/reservations/o-1").status_code)

    assert statuses == [200] * CONTENDERS
    assert inventory.get("/stock/A").json()["available"] == 4
    assert_conserved(inventory_app)


def test_concurrent_first_puts_of_a_sku_create_it_once(
    inventory: TestClient, inventory_app: FastAPI, race: Race
) -> None:
    statuses = race(
        CONTENDERS, lambda _i: inventory.put("/stock/NEW", json={"available": 6}).status_code
    )

    assert statuses == [200] * CONTENDERS
    assert inventory.get("/stock/NEW").json()["received"] == 6
    assert_conserved(inventory_app)
