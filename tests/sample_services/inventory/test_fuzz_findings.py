"""Fixes for what fuzzing found in inventory (pytest --fuzz, issue 5)."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_integral_numbers_are_accepted_as_integers(hooked_inventory: TestClient) -> None:
    # positive_data_acceptance: {"available": 533670099.0} is valid by the OpenAPI.
    stock = hooked_inventory.put("/stock/A", json={"available": 5.0})
    assert stock.status_code == 200
    assert stock.json()["available"] == 5

    held = hooked_inventory.post(
        "/reservations", json={"order_id": "o-1", "items": [{"sku": "A", "quantity": 2.0}]}
    )
    assert held.status_code == 201, held.text
    assert held.json()["items"] == [{"sku": "A", "quantity": 2}]
    # The same order with the integer form is the same request: a replay, not a conflict.
    again = hooked_inventory.post(
        "/reservations", json={"order_id": "o-1", "items": [{"sku": "A", "quantity": 2}]}
    )
    assert again.status_code == 200
    assert hooked_inventory.get("/stock/A").json()["reserved"] == 2


def test_options_lists_both_methods_of_a_stock_path(hooked_inventory: TestClient) -> None:
    response = hooked_inventory.options("/stock/A")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT"}
