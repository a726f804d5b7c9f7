"""PUT/GET /stock: levels, and the difference booked into `received`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.inventory.audit import assert_conserved, movement_count


def test_put_creates_a_sku_with_everything_received(
    inventory: TestClient, inventory_app: FastAPI
) -> None:
    unknown = inventory.get("/stock/SKU-1")
    response = inventory.put("/stock/SKU-1", json={"available": 5})

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert response.status_code == 200
    body = {"sku": "SKU-1", "available": 5, "reserved": 0, "sold": 0, "received": 5}
    assert response.json() == body
    assert inventory.get("/stock/SKU-1").json() == body
    assert_conserved(inventory_app)


def test_put_books_the_difference_and_leaves_reserved_and_sold_alone(
    inventory: TestClient, inventory_app: FastAPI
) -> None:
    inventory.put("/stock/SKU-1", json={"available": 10})
    inventory.post(
        "/reservations", json={"order_id": "o-1", "items": [{"sku": "SKU-1", "quantity": 3}]}
    )
    inventory.post(
        "/reservations", json={"order_id": "o-2", "items": [{"sku": "SKU-1", "quantity": 2}]}
    )
    inventory.post("/reservations/o-2/commit")

    raised = inventory.put("/stock/SKU-1", json={"available": 20}).json()
    assert raised == {"sku": "SKU-1", "available": 20, "reserved": 3, "sold": 2, "received": 25}
    assert_conserved(inventory_app)

    lowered = inventory.put("/stock/SKU-1", json={"available": 0}).json()
    assert lowered == {"sku": "SKU-1", "available": 0, "reserved": 3, "sold": 2, "received": 5}
    assert_conserved(inventory_app)


def test_put_of_the_same_level_books_nothing(inventory: TestClient, inventory_app: FastAPI) -> None:
    inventory.put("/stock/SKU-1", json={"available": 4})
    before = movement_count(inventory_app)

    assert inventory.put("/stock/SKU-1", json={"available": 4}).status_code == 200
    assert movement_count(inventory_app) == before
