"""Reservations: all-or-nothing holds, idempotent per order, commit, release, tombstones."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.sample_services.inventory.audit import assert_conserved, movement_count


def _reserve(client: TestClient, order_id: str, *lines: tuple[str, int]) -> Any:
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in lines]
    return client.post("/reservations", json={"order_id": order_id, "items": items})


def _stock(client: TestClient, sku: str) -> dict[str, int]:
    body: dict[str, int] = client.get("/stock/" + sku).json()
    return body


@pytest.fixture
def stocked(inventory: TestClient) -> TestClient:
    inventory.put("/stock/A", json={"available": 5})
    inventory.put("/stock/B", json={"available": 2})
    return inventory


def test_reserve_holds_every_line(stocked: TestClient, inventory_app: FastAPI) -> None:
    response = _reserve(stocked, "o-1", ("A", 3), ("B", 2))

    assert response.status_code == 201
    assert response.json() == {
        "order_id": "o-1",
        "status": "HELD",
        "items": [{"sku": "A", "quantity": 3}, {"sku": "B", "quantity": 2}],
    }
    assert _stock(stocked, "A") == {
        "sku": "A",
        "available": 2,
        "reserved": 3,
        "sold": 0,
        "received": 5,
    }
    assert _stock(stocked, "B") == {
        "sku": "B",
        "available": 0,
        "reserved": 2,
        "sold": 0,
        "received": 2,
    }
    assert stocked.get("/reservations/o-1").json() == response.json()
    assert_conserved(inventory_app)


def test_lines_for_one_sku_hold_their_sum(stocked: TestClient, inventory_app: FastAPI) -> None:
    assert _reserve(stocked, "o-1", ("A", 2), ("A", 3)).status_code == 201
    assert _stock(stocked, "A")["reserved"] == 5
    assert _reserve(stocked, "o-2", ("A", 1)).json()["code"] == "insufficient_stock"
    assert_conserved(inventory_app)


def test_insufficient_stock_changes_nothing(stocked: TestClient, inventory_app: FastAPI) -> None:
    before = (_stock(stocked, "A"), _stock(stocked, "B"), movement_count(inventory_app))

    response = _reserve(stocked, "o-1", ("A", 1), ("B", 3))

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert (_stock(stocked, "A"), _stock(stocked, "B"), movement_count(inventory_app)) == before
    assert stocked.get("/reservations/o-1").status_code == 404
    # Nothing was remembered: the order may try again once stock arrives.
    stocked.put("/stock/B", json={"available": 3})
    assert _reserve(stocked, "o-1", ("A", 1), ("B", 3)).status_code == 201


def test_unknown_sku_is_404_and_changes_nothing(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    before = (_stock(stocked, "A"), movement_count(inventory_app))

    response = _reserve(stocked, "o-1", ("A", 1), ("GHOST", 1))

    assert response.status_code == 404
    assert "GHOST" in response.json()["detail"]
    assert (_stock(stocked, "A"), movement_count(inventory_app)) == before


def test_replay_with_the_same_items_answers_200_with_the_same_body(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    first = _reserve(stocked, "o-1", ("A", 1), ("B", 1))
    moves = movement_count(inventory_app)

    again = _reserve(stocked, "o-1", ("A", 1), ("B", 1))
    reordered = _reserve(stocked, "o-1", ("B", 1), ("A", 1))

    assert (first.status_code, again.status_code, reordered.status_code) == (201, 200, 200)
    assert again.json() == first.json() == reordered.json()
    assert _stock(stocked, "A")["reserved"] == 1
    assert movement_count(inventory_app) == moves


def test_same_order_with_other_items_is_an_idempotency_conflict(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    _reserve(stocked, "o-1", ("A", 1))

    response = _reserve(stocked, "o-1", ("A", 2))

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert _stock(stocked, "A")["reserved"] == 1
    assert_conserved(inventory_app)


def test_commit_sells_the_held_units_once(stocked: TestClient, inventory_app: FastAPI) -> None:
    _reserve(stocked, "o-1", ("A", 3))

    first = stocked.post("/reservations/o-1/commit")
    again = stocked.post("/reservations/o-1/commit")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "COMMITTED"
    assert _stock(stocked, "A") == {
        "sku": "A",
        "available": 2,
        "reserved": 0,
        "sold": 3,
        "received": 5,
    }
    assert_conserved(inventory_app)
    # A late replay of the reservation reports where it stands without holding again.
    replay = _reserve(stocked, "o-1", ("A", 3))
    assert (replay.status_code, replay.json()["status"]) == (200, "COMMITTED")
    assert _stock(stocked, "A")["available"] == 2


def test_release_of_a_held_reservation_returns_it_to_available(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    _reserve(stocked, "o-1", ("A", 3), ("B", 1))

    first = stocked.delete("/reservations/o-1")
    again = stocked.delete("/reservations/o-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "RELEASED"
    assert _stock(stocked, "A") == {
        "sku": "A",
        "available": 5,
        "reserved": 0,
        "sold": 0,
        "received": 5,
    }
    assert _stock(stocked, "B")["available"] == 2
    assert_conserved(inventory_app)


def test_release_of_a_committed_reservation_returns_sold_units(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    _reserve(stocked, "o-1", ("A", 4))
    stocked.post("/reservations/o-1/commit")

    response = stocked.delete("/reservations/o-1")

    assert response.json()["status"] == "RELEASED"
    assert _stock(stocked, "A") == {
        "sku": "A",
        "available": 5,
        "reserved": 0,
        "sold": 0,
        "received": 5,
    }
    assert stocked.delete("/reservations/o-1").status_code == 200
    assert _stock(stocked, "A")["available"] == 5
    assert_conserved(inventory_app)


def test_released_reservation_cannot_be_committed_or_reserved_again(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    _reserve(stocked, "o-1", ("A", 1))
    stocked.delete("/reservations/o-1")

    commit = stocked.post("/reservations/o-1/commit")
    again = _reserve(stocked, "o-1", ("A", 1))

    assert (commit.status_code, commit.json()["code"]) == (409, "reservation_released")
    assert (again.status_code, again.json()["code"]) == (409, "reservation_released")
    assert _stock(stocked, "A")["available"] == 5
    assert_conserved(inventory_app)


def test_release_of_an_unknown_order_leaves_a_tombstone(
    stocked: TestClient, inventory_app: FastAPI
) -> None:
    moves = movement_count(inventory_app)

    response = stocked.delete("/reservations/late-1")
    late = _reserve(stocked, "late-1", ("A", 1))

    assert response.status_code == 200
    assert response.json() == {"order_id": "late-1", "status": "RELEASED", "items": []}
    assert (late.status_code, late.json()["code"]) == (409, "reservation_released")
    assert _stock(stocked, "A")["available"] == 5
    assert movement_count(inventory_app) == moves


def test_commit_or_get_of_an_unknown_order_is_404(stocked: TestClient) -> None:
    assert stocked.post("/reservations/nope/commit").status_code == 404
    assert stocked.get("/reservations/nope").status_code == 404
    # Neither left a tombstone behind.
    assert _reserve(stocked, "nope", ("A", 1)).status_code == 201
