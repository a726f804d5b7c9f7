"""What the inventory API promises at its edges: strict bodies, an honest OpenAPI, hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sample_services.inventory.app import create_app
from sample_services.inventory.settings import InventorySettings

LINE = {"sku": "A", "quantity": 1}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"order_id": "o-1", "items": [{"sku": "A", "quantity": "1"}]}, id="quantity-str"
        ),
        pytest.param(
            {"order_id": "o-1", "items": [{"sku": "A", "quantity": True}]}, id="quantity-bool"
        ),
        pytest.param(
            {"order_id": "o-1", "items": [{"sku": "A", "quantity": 1.5}]}, id="quantity-float"
        ),
        pytest.param(
            {"order_id": "o-1", "items": [{"sku": "A", "quantity": 0}]}, id="quantity-zero"
        ),
        pytest.param(
            {"order_id": "o-1", "items": [{"sku": "A", "quantity": -1}]}, id="quantity-neg"
        ),
        pytest.param({"order_id": "o-1", "items": []}, id="no-lines"),
        pytest.param({"order_id": "o-1", "items": [LINE], "note": "x"}, id="extra-field"),
        pytest.param({"order_id": "o-1", "items": [{**LINE, "price": 3}]}, id="extra-line-field"),
        pytest.param({"order_id": 1, "items": [LINE]}, id="order-id-int"),
        pytest.param({"order_id": "o\u00001", "items": [LINE]}, id="order-id-nul"),
        pytest.param({"order_id": "o-1", "items": [{"sku": "", "quantity": 1}]}, id="sku-empty"),
        pytest.param({"items": [LINE]}, id="order-id-missing"),
    ],
)
def test_reservation_bodies_are_strict(hooked_inventory: TestClient, body: Any) -> None:
    hooked_inventory.put("/stock/A", json={"available": 5})

    response = hooked_inventory.post("/reservations", json=body)

    assert response.status_code == 422
    assert hooked_inventory.get("/stock/A").json()["available"] == 5


@pytest.mark.parametrize("available", ["3", True, 3.5, -1, 10**10, None])
def test_stock_levels_are_strict(hooked_inventory: TestClient, available: Any) -> None:
    response = hooked_inventory.put("/stock/A", json={"available": available})

    assert response.status_code == 422
    assert hooked_inventory.get("/stock/A").status_code == 404


def test_a_sku_with_characters_outside_the_pattern_is_422(hooked_inventory: TestClient) -> None:
    assert hooked_inventory.get("/stock/a%20b").status_code == 422
    assert hooked_inventory.put("/stock/" + "x" * 101, json={"available": 1}).status_code == 422


def test_openapi_documents_error_statuses_and_hides_test_hooks(tmp_path: Path) -> None:
    settings = InventorySettings(database_url=f"sqlite:///{tmp_path / 'i.db'}")
    spec = create_app(settings).openapi()
    paths = spec["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert not [p for p in paths if p.startswith("/_test")]
    assert {"201", "200", "404", "409", "422", "503"} <= statuses("/reservations", "post")
    assert {"200", "404", "409", "503"} <= statuses("/reservations/{order_id}/commit", "post")
    assert {"200", "422", "503"} <= statuses("/reservations/{order_id}", "delete")
    assert {"200", "404", "503"} <= statuses("/stock/{sku}", "get")
    problem = paths["/reservations"]["post"]["responses"]["409"]["content"]["application/json"]
    assert problem["schema"]["$ref"].endswith("/Problem")
    assert all(op.get("summary") for item in paths.values() for op in item.values())


def test_hooks_are_absent_unless_enabled(unhooked_inventory: TestClient) -> None:
    assert unhooked_inventory.post("/_test/reset").status_code == 404
    state = {"state": "no stock for {sku}", "params": {"sku": "A"}}
    assert unhooked_inventory.post("/_test/provider-states", json=state).status_code == 404


def _given(client: TestClient, state: str, **params: Any) -> None:
    response = client.post("/_test/provider-states", json={"state": state, "params": params})
    assert response.status_code == 200, response.text


def test_provider_states_set_up_what_consumers_ask_for(hooked_inventory: TestClient) -> None:
    client = hooked_inventory

    _given(client, "sku {sku} has {available} available", sku="S-1", available="7")
    assert client.get("/stock/S-1").json()["available"] == 7

    _given(client, "reservation {order_id} is HELD", order_id="o-1", sku="S-1", quantity=2)
    assert client.get("/reservations/o-1").json()["status"] == "HELD"
    assert client.get("/stock/S-1").json()["reserved"] == 2

    _given(client, "reservation {order_id} is COMMITTED", order_id="o-1", sku="S-1", quantity=2)
    assert client.get("/reservations/o-1").json()["status"] == "COMMITTED"
    stock = client.get("/stock/S-1").json()
    assert (stock["available"], stock["reserved"], stock["sold"]) == (5, 0, 2)

    _given(client, "reservation {order_id} is RELEASED", order_id="o-2")
    assert client.post("/reservations/o-2/commit").json()["code"] == "reservation_released"

    _given(client, "no stock for {sku}", sku="S-1")
    assert client.get("/stock/S-1").status_code == 404
    assert client.get("/reservations/o-1").status_code == 404

    assert client.post("/_test/reset").status_code == 200
    assert client.get("/reservations/o-2").status_code == 404


def test_unknown_state_or_bad_params_are_400(hooked_inventory: TestClient) -> None:
    unknown = hooked_inventory.post("/_test/provider-states", json={"state": "the moon is full"})
    bad = hooked_inventory.post(
        "/_test/provider-states",
        json={"state": "sku {sku} has {available} available", "params": {"sku": "S"}},
    )

    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_state")
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_state_params")


def test_readiness_checks_the_database_and_responses_carry_a_request_id(
    hooked_inventory: TestClient,
) -> None:
    ready = hooked_inventory.get("/readyz")
    response = hooked_inventory.get("/stock/A", headers={"X-Request-ID": "rid-1"})

    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert response.headers["X-Request-ID"] == "rid-1"


def test_an_unreachable_database_gives_503_not_500() -> None:
    # Nothing listens on port 1; without `with`, the lifespan (create_all) is skipped.
    app = create_app(InventorySettings(database_url="postgresql://u@127.0.0.1:1/inventory"))
    client = TestClient(app)

    ready = client.get("/readyz")
    stock = client.get("/stock/A")

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("error")
    assert client.get("/healthz").status_code == 200
    assert (stock.status_code, stock.json()["code"]) == (503, "database_unavailable")
    assert stock.headers["Retry-After"] == "1"
